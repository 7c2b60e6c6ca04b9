package testnet_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/dashboard"
	"github.com/gridmesh/gridmesh/testnet"
	"github.com/gridmesh/gridmesh/testnet/browsertest"
)

// A home's page in a real browser: clicked through from the city's page,
// it shows live figures that match the home's /status; once the leader
// is killed, a surviving voter's page shows the new leader, and the
// killed leader's own page marks its figures stale. Screenshots go to $GRIDMESH_ARTIFACTS (default: the
// test's temporary directory).
func TestDashboardInBrowserFollowsLeaderKill(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testnet.DefaultConfig()
	// Five homes, the first three voting from the start (a leader that
	// stays until it is killed): after the kill two voters keep a
	// quorum.
	cfg.Homes, cfg.Neighborhoods, cfg.Voters, cfg.StaticVoters = 5, 1, 3, true
	// The leader is killed halfway: 20 s leave the browser time to
	// start and the page time to be checked first on a loaded machine.
	cfg.Duration = 40 * time.Second
	cfg.Scenarios = []string{testnet.ScenarioLeaderKill}
	cfg.Dashboard = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := testnet.Run(ctx, cfg, nil)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	cityURL := "http://" + ln.Addr().String() + "/"
	artifacts := artifactDir(t)

	// Once every home follows a plan, the city's page names the leader
	// and the two voters that do not lead. Their pages are watched, each
	// in a tab: whichever of the three leads when the leader is killed,
	// one voter's page survives to show the new leader.
	var voters []dashboard.CityHome
	waitCity(t, cityURL, 20*time.Second, func(nb dashboard.CityNeighborhood) bool {
		voters = voters[:0]
		for _, h := range nb.Homes {
			if h.Mode != "plan" || !h.Alive {
				return false
			}
			if h.Voter && h.URL != "" {
				voters = append(voters, h)
			}
		}
		return len(voters) == cfg.Voters && slices.ContainsFunc(voters, func(h dashboard.CityHome) bool { return h.Leader })
	})
	slices.SortStableFunc(voters, func(a, b dashboard.CityHome) int { return cmp.Compare(boolInt(a.Leader), boolInt(b.Leader)) }) // the leader last
	browser := browsertest.New(t)
	tabs := map[string]context.Context{voters[0].ID: browser}
	openFromCity(t, browser, cityURL, voters[0].ID, voters[0].URL, artifacts)
	for _, h := range voters[1:] {
		tab, closeTab := chromedp.NewContext(browser)
		defer closeTab()
		if err := chromedp.Do(tab, chromedp.Navigate(h.URL)); err != nil {
			t.Fatal(err)
		}
		tabs[h.ID] = tab
	}
	for id, tab := range tabs {
		waitPage(t, tab, id+"'s page live with a leader, a feeder and a SoC", `document.body.dataset.kind === "home" && $("conn").dataset.state === "live" && $("leader").dataset.home !== "" && $("feeder").dataset.value !== "" && $("soc").dataset.value !== ""`)
	}
	checkAgainstStatus(t, browser, voters[0].URL)
	if alive := cityAlive(t, cityURL); alive != cfg.Homes {
		t.Fatalf("%d of %d homes alive before the page was checked: the leader was killed too early for this test (lengthen its Duration)", alive, cfg.Homes)
	}

	// The kill: a surviving voter's page shows a new leader, which its
	// /status names too; the killed leader's page is marked stale.
	var killed string
	waitCity(t, cityURL, 40*time.Second, func(nb dashboard.CityNeighborhood) bool {
		for _, h := range nb.Homes {
			if !h.Alive {
				killed = h.ID
				return true
			}
		}
		return false
	})
	dead, ok := tabs[killed]
	if !ok {
		t.Fatalf("%s was killed, not one of the voters %v", killed, tabs)
	}
	var survivor dashboard.CityHome
	for _, h := range voters {
		if h.ID != killed && survivor.ID == "" {
			survivor = h
		}
	}
	tab := tabs[survivor.ID]
	newLeader := waitPageValue(t, tab, "a new leader on "+survivor.ID+"'s page", 30*time.Second,
		fmt.Sprintf(`$("leader").dataset.home !== "" && $("leader").dataset.home !== %q ? $("leader").dataset.peer : ""`, killed))
	waitStatus(t, survivor.URL, "the new leader in /status", func(st node.Status) bool { return st.Leader == newLeader })
	waitPage(t, dead, "the killed leader's page marked stale", `$("conn").dataset.state === "stale" && !$("stale-banner").hidden && document.body.classList.contains("stale")`)
	if err := browsertest.Screenshot(dead, filepath.Join(artifacts, "dashboard-killed-leader.png")); err != nil {
		t.Fatal(err)
	}
	checkAgainstStatus(t, tab, survivor.URL)
	if err := browsertest.Screenshot(tab, filepath.Join(artifacts, "dashboard-home.png")); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s killed; %s's page shows the new leader %s; screenshots in %s", killed, survivor.ID, newLeader, artifacts)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// artifactDir is $GRIDMESH_ARTIFACTS, created, or the test's temporary
// directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GRIDMESH_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cityPage fetches the city page's snapshot.
func cityPage(t *testing.T, cityURL string) dashboard.Page {
	t.Helper()
	var p dashboard.Page
	getJSON(t, cityURL+"snapshot.json", &p)
	if p.Kind != dashboard.KindCity || p.City == nil || len(p.City.Neighborhoods) != 1 {
		t.Fatalf("city snapshot %+v", p)
	}
	return p
}

// waitCity polls the city's snapshot until cond holds for its one
// neighborhood.
func waitCity(t *testing.T, cityURL string, d time.Duration, cond func(dashboard.CityNeighborhood) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond(cityPage(t, cityURL).City.Neighborhoods[0]) {
		if time.Now().After(deadline) {
			t.Fatalf("city not organized after %v: %+v", d, cityPage(t, cityURL).City)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cityAlive counts the city's live homes.
func cityAlive(t *testing.T, cityURL string) int {
	n := 0
	for _, h := range cityPage(t, cityURL).City.Neighborhoods[0].Homes {
		if h.Alive {
			n++
		}
	}
	return n
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// waitStatus polls a home's /status until cond holds.
func waitStatus(t *testing.T, homeURL, what string, cond func(node.Status) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st node.Status
		getJSON(t, homeURL+"status", &st)
		if cond(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s (leader %q)", what, st.Leader)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openFromCity opens the city's page, screenshots it, and clicks
// through to the home's page.
func openFromCity(t *testing.T, browser context.Context, cityURL, home, homeURL, artifacts string) {
	t.Helper()
	if err := chromedp.Do(browser, chromedp.Navigate(cityURL)); err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf(`tr[data-home=%q] a`, home)
	waitPage(t, browser, "the city's page with a link to "+home, fmt.Sprintf(`document.body.dataset.kind === "city" && document.querySelector(%q) !== null`, link))
	if err := browsertest.Screenshot(browser, filepath.Join(artifacts, "dashboard-city.png")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(browser, chromedp.Click(chromedp.CSS(link))); err != nil {
		t.Fatal(err)
	}
	// The click navigates: until the home's page has loaded, the old
	// page's script context may be gone under an evaluation.
	var href string
	deadline := time.Now().Add(20 * time.Second)
	for !strings.HasPrefix(href, homeURL) && time.Now().Before(deadline) {
		href, _ = chromedp.Run(browser, chromedp.Evaluate[string](`document.readyState === "complete" ? location.href : ""`))
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(href, homeURL) {
		t.Fatalf("the click on %s's link did not open %s (at %q)", home, homeURL, href)
	}
}

// pageJS prefixes every expression evaluated in a page.
const pageJS = `((id) => document.getElementById(id))`

// waitPage waits up to 20 s for a JavaScript condition on the page
// ($ is document.getElementById).
func waitPage(t *testing.T, tab context.Context, what, cond string) {
	t.Helper()
	waitPageValue(t, tab, what, 20*time.Second, "("+cond+") ? \"yes\" : \"\"")
}

// waitPageValue waits up to d for a JavaScript expression on the page to
// give a non-empty string, and returns it.
func waitPageValue(t *testing.T, tab context.Context, what string, d time.Duration, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, d)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(`(() => { const $ = %s; try { return %s } catch (e) { return "" } })()`, pageJS, expr),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(d)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return v
}

// shown is what the home's page shows: the raw figures in its data-*
// attributes and the text a person reads.
type shown struct {
	AtMs       string `json:"at_ms"`
	Leader     string `json:"leader"`
	LeaderHome string `json:"leader_home"`
	LeaderText string `json:"leader_text"`
	SoC        string `json:"soc"`
	SoCText    string `json:"soc_text"`
	Feeder     string `json:"feeder"`
	FeederText string `json:"feeder_text"`
}

func readPage(t *testing.T, tab context.Context) shown {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[shown](`(() => { const $ = `+pageJS+`; return {
		at_ms: $("updated").dataset.atMs, leader: $("leader").dataset.peer, leader_home: $("leader").dataset.home,
		leader_text: $("leader").textContent, soc: $("soc").dataset.value, soc_text: $("soc").textContent,
		feeder: $("feeder").dataset.value, feeder_text: $("feeder").textContent } })()`))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func float(t *testing.T, what, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s %q: %v", what, s, err)
	}
	return v
}

// checkAgainstStatus compares the page with the home's /status fetched
// between two reads of the page that show one snapshot, and returns the
// leader's peer ID.
//
// The snapshot and the status are at most a second apart, so the
// tolerances are what one second of change allows. The leader must be
// the same (it changes only with an election). The state of charge may
// move by the battery's largest power for the time between them, over
// its capacity. The feeder, a sum of the homes' reports, changes when a
// report arrives, once a second per home: it may differ by the largest
// change the page itself showed between two consecutive snapshots, in
// the three seconds before the fetch and the three after.
func checkAgainstStatus(t *testing.T, tab context.Context, homeURL string) string {
	t.Helper()
	stepBefore := largestFeederStep(t, tab, 3)
	for range 10 {
		before := readPage(t, tab)
		fetched := time.Now()
		var st node.Status
		getJSON(t, homeURL+"status", &st)
		if after := readPage(t, tab); after != before {
			continue // a snapshot came meanwhile: try again
		}
		stepAfter := largestFeederStep(t, tab, 3)
		compare(t, before, st, fetched, max(stepBefore, stepAfter))
		return before.Leader
	}
	t.Fatal("the page changed during every status fetch")
	return ""
}

// largestFeederStep watches n consecutive snapshots and returns the
// largest change of the feeder between two of them.
func largestFeederStep(t *testing.T, tab context.Context, n int) float64 {
	t.Helper()
	prev := readPage(t, tab)
	step := 0.0
	for range n {
		next := waitPageValue(t, tab, "the next snapshot", 5*time.Second,
			fmt.Sprintf(`$("updated").dataset.atMs !== %q ? $("feeder").dataset.value : ""`, prev.AtMs))
		step = max(step, math.Abs(float(t, "feeder", next)-float(t, "feeder", prev.Feeder)))
		prev = readPage(t, tab)
	}
	return step
}

func compare(t *testing.T, p shown, st node.Status, fetched time.Time, feederStep float64) {
	t.Helper()
	if p.Leader != st.Leader || p.Leader == "" {
		t.Errorf("page leader %q, /status %q", p.Leader, st.Leader)
	}
	if p.LeaderText != p.LeaderHome || !strings.HasPrefix(p.LeaderHome, "n0-h") {
		t.Errorf("leader shown as %q, home %q", p.LeaderText, p.LeaderHome)
	}
	bat, ok := st.Devices["battery"]
	if !ok || bat.Battery == nil || bat.Battery.CapacityWh <= 0 {
		t.Fatalf("no battery in /status: %+v", st.Devices)
	}
	// Both figures are the loop's newest tick, up to a LoopPeriod old.
	gap := math.Abs(float64(fetched.UnixMilli())-float(t, "at_ms", p.AtMs))/1000 + 2*node.DefaultConfig().LoopPeriod.Seconds()
	maxW := max(float64(bat.Battery.MaxW), -float64(bat.Battery.MinW))
	socTol := maxW * gap / (float64(bat.Battery.CapacityWh) * 3600)
	if d := math.Abs(float(t, "soc", p.SoC) - st.SoC); d > socTol {
		t.Errorf("page SoC %s, /status %v: %.6f apart, more than %.6f (%.0f W for %.2f s of %.0f Wh)", p.SoC, st.SoC, d, socTol, maxW, gap, float64(bat.Battery.CapacityWh))
	}
	if !strings.HasSuffix(p.SoCText, " %") {
		t.Errorf("SoC shown as %q, want a percentage", p.SoCText)
	}
	if st.Feeder == nil || st.Feeder.MeteredW == nil {
		t.Fatalf("no feeder in /status: %+v", st.Feeder)
	}
	if d := math.Abs(float(t, "feeder", p.Feeder) - float64(*st.Feeder.MeteredW)); d > feederStep {
		t.Errorf("page feeder %s W, /status %v: %.1f W apart, more than the largest step shown, %.1f W", p.Feeder, *st.Feeder.MeteredW, d, feederStep)
	}
	if !strings.HasSuffix(p.FeederText, " W") && !strings.HasSuffix(p.FeederText, " kW") {
		t.Errorf("feeder shown as %q, want W or kW", p.FeederText)
	}
	t.Logf("page vs /status: leader %s, SoC %s vs %.6f (tolerance %.6f), feeder %s vs %.1f W (tolerance %.1f W)",
		p.LeaderHome, p.SoC, st.SoC, socTol, p.Feeder, float64(*st.Feeder.MeteredW), feederStep)
}
