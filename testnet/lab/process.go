package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one home's `gridmesh node` process, restarted from the same
// home file and data directory after a kill. Its fields are guarded by
// mu; start and the exit watcher write them.
type proc struct {
	bin, ns, file, logPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the current incarnation exits
	runs    int           // incarnations started
	signals int           // SIGKILLs the lab sent to the current one
	exits   []exitRecord
}

// exitRecord is how one incarnation ended.
type exitRecord struct {
	Status   string // as os.ProcessState prints it
	Expected bool   // the lab killed it, or stopped the run
}

// start runs a new incarnation: `ip netns exec <ns> <bin> node --config
// <file>`, output appended to the home's log. ip execs the node in
// place, so the process the lab signals is the node itself; it dies
// with the lab (PR_SET_PDEATHSIG) if the lab dies first.
func (p *proc) start() error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("home log: %w", err)
	}
	cmd := exec.Command("ip", "netns", "exec", p.ns, p.bin, "node", "--config", p.file, "--log-level", "info")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.ns, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.signals = cmd, exited, 0
	p.runs++
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		st := "exit status 0"
		if err != nil {
			st = err.Error()
		}
		p.exits = append(p.exits, exitRecord{Status: st, Expected: p.signals > 0})
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// signal sends sig to the running incarnation; a SIGKILL or SIGTERM
// marks its exit as expected.
func (p *proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return fmt.Errorf("%s: not started", p.ns)
	}
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		p.signals++
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%s: %v: %w", p.ns, sig, err)
	}
	return nil
}

// pid is the current incarnation's process ID (0 before the first).
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// running reports whether the current incarnation has not exited.
func (p *proc) running() bool {
	p.mu.Lock()
	ch := p.exited
	p.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// wait blocks until the current incarnation exits or ctx ends.
func (p *proc) wait(ctx context.Context) error {
	p.mu.Lock()
	ch := p.exited
	p.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopGrace is how long a home has to stop after SIGTERM before it is
// killed: a leader hands its leadership over first (a Raft election or
// two at WAN timing).
const stopGrace = 10 * time.Second

// stop ends the current incarnation: SIGCONT (it may be stopped),
// SIGTERM, SIGKILL after stopGrace.
func (p *proc) stop() error {
	if !p.running() {
		return nil
	}
	_ = p.signal(syscall.SIGCONT) // it may have exited meanwhile
	if err := p.signal(syscall.SIGTERM); err != nil && p.running() {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	if p.wait(ctx) == nil {
		return nil
	}
	if err := p.signal(syscall.SIGKILL); err != nil && p.running() {
		return err
	}
	return p.wait(context.Background())
}

// history returns how each incarnation ended so far and how many ran.
func (p *proc) history() ([]exitRecord, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]exitRecord(nil), p.exits...), p.runs
}

// peerID runs `<bin> node id --config <file>`, which creates the home's
// identity key in its data directory and prints its peer ID. It opens
// no socket, so it runs outside any namespace.
func peerID(ctx context.Context, bin, file string) (string, error) {
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, bin, "node", "id", "--config", file)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s node id: %w: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	id := strings.TrimSpace(string(out))
	if id == "" || strings.ContainsAny(id, " \n") {
		return "", errors.New("node id printed no peer ID: " + id)
	}
	return id, nil
}
