package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gridmesh/gridmesh/node"
)

// defaultAddr is where `gridmesh status` and `settings` look for a home:
// the example home files' http address.
const defaultAddr = "127.0.0.1:8181"

// statusCmd prints a home's state for a person, from its /status.
func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultAddr, "the home's http address (its home file's http:)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{errors.New("want only --addr")}
	}
	var s node.Status
	if err := getJSON(ctx, "http://"+*addr+"/status", "", &s); err != nil {
		return err
	}
	printStatus(stdout, s)
	return nil
}

// printStatus writes s as a person reads it.
func printStatus(w io.Writer, s node.Status) {
	fmt.Fprintf(w, "home %s of %s\n", s.Home, s.Neighborhood)
	fmt.Fprintf(w, "  grid      %s (%s)\n", power(float64(s.NetW)), map[bool]string{true: "importing", false: "exporting"}[s.NetW >= 0])
	fmt.Fprintf(w, "  battery   %s, %.0f %% charged\n", power(float64(s.BatteryW)), s.SoC*100)
	plan := "none: self-consuming on its own"
	if s.HasPlan {
		plan = fmt.Sprintf("epoch %d.%d, lease %.1f s left, aim %s", s.PlanEpoch.Term, s.PlanEpoch.Index, float64(s.LeaseLeftMs)/1000, power(float64(s.AimNetW)))
	}
	fmt.Fprintf(w, "  mode      %s; plan %s\n", s.Mode, plan)
	leader := s.Leader
	switch {
	case s.IsLeader:
		leader = "this home"
	case leader == "":
		leader = "none known"
	}
	fmt.Fprintf(w, "  leader    %s (term %d); %d voters, %d members; this home votes: %v\n", leader, s.Term, s.RaftVoters, s.RaftMembers, s.Voter)
	if s.Region != nil {
		fmt.Fprintf(w, "  region    %d signals in force\n", len(s.Region.Signals))
	}
	o := s.Owner
	fmt.Fprintf(w, "  owner     %s; backup reserve %.0f %%; opt out of next event: %v", o.Steering, o.ReservePct, o.OptOutNext)
	if o.OptOutEvent != "" {
		fmt.Fprintf(w, " (%s)", o.OptOutEvent)
	}
	if o.Paused && o.PauseUntilMs != 0 {
		fmt.Fprintf(w, "; paused until %s", time.UnixMilli(o.PauseUntilMs).Format(time.DateTime))
	}
	fmt.Fprintln(w)
	kinds := make([]string, 0, len(s.Devices))
	for k := range s.Devices {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		d := s.Devices[k]
		fmt.Fprintf(w, "  device    %-9s available: %v", k, d.Available)
		if d.CommandW != nil {
			fmt.Fprintf(w, ", commanded %s", power(float64(*d.CommandW)))
		}
		fmt.Fprintln(w)
	}
}

// power formats watts for a person.
func power(w float64) string {
	if w <= -1000 || w >= 1000 {
		return strconv.FormatFloat(w/1000, 'f', 2, 64) + " kW"
	}
	return strconv.FormatFloat(w, 'f', 0, 64) + " W"
}

// settingsCmd shows the owner's settings, or changes them:
//
//	gridmesh settings [--addr A] [--token-file F] reserve=30 opt-out=next|off pause=2h|on|off
func settingsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("settings", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultAddr, "the home's http address")
	tokenFile := fs.String("token-file", "", "the home's owner-token file (in its data_dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tokenFile == "" {
		return usageError{errors.New("want --token-file DATA_DIR/owner-token")}
	}
	b, err := os.ReadFile(*tokenFile)
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(b))
	change, err := parseChange(fs.Args())
	if err != nil {
		return usageError{err}
	}
	url := "http://" + *addr + "/api/v1/settings"
	var st node.OwnerStatus
	if len(fs.Args()) == 0 {
		err = getJSON(ctx, url, token, &st)
	} else {
		err = putJSON(ctx, url, token, change, &st)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "steering %s; reserve %.0f %%; opt out of next event: %v; paused: %v", st.Steering, st.ReservePct, st.OptOutNext, st.Paused)
	if st.PauseUntilMs != 0 {
		fmt.Fprintf(stdout, " until %s", time.UnixMilli(st.PauseUntilMs).Format(time.DateTime))
	}
	fmt.Fprintln(stdout)
	return nil
}

// parseChange reads reserve=N, opt-out=next|off and pause=DURATION|on|off.
func parseChange(args []string) (node.OwnerChange, error) {
	var c node.OwnerChange
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return c, fmt.Errorf("%q: want key=value", a)
		}
		switch k {
		case "reserve":
			pct, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
			if err != nil {
				return c, fmt.Errorf("reserve %q: want a percentage", v)
			}
			c.ReservePct = &pct
		case "opt-out":
			on := v == "next" || v == "on"
			if !on && v != "off" {
				return c, fmt.Errorf("opt-out %q: want next or off", v)
			}
			c.OptOutNext = &on
		case "pause":
			on := v != "off"
			c.Paused = &on
			if v != "on" && v != "off" {
				c.PauseFor = v
			}
		default:
			return c, fmt.Errorf("unknown setting %q: want reserve, opt-out or pause", k)
		}
	}
	return c, nil
}

// requestTimeout bounds a call to a home's HTTP endpoint: it is on the
// same machine or LAN.
const requestTimeout = 10 * time.Second

func getJSON(ctx context.Context, url, token string, out any) error {
	return doJSON(ctx, http.MethodGet, url, token, nil, out)
}

func putJSON(ctx context.Context, url, token string, in, out any) error {
	return doJSON(ctx, http.MethodPut, url, token, in, out)
}

// doJSON sends in (when not nil) as JSON and decodes a 200's body into
// out; any other answer is an error with the home's message.
func doJSON(ctx context.Context, method, url, token string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	return nil
}
