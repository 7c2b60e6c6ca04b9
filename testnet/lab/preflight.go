package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrUnavailable is returned, wrapped with what is missing, when this
// machine cannot run a lab.
var ErrUnavailable = errors.New("lab unavailable")

// preflight names everything missing for a lab: root's capabilities,
// the `ip` and `nft` tools, the TUN device, namespace support.
func preflight() error {
	var missing []string
	if !hasCaps() {
		missing = append(missing, "root (CAP_NET_ADMIN and CAP_SYS_ADMIN, to create and enter network namespaces)")
	}
	for _, tool := range []struct{ bin, pkg string }{{"ip", "iproute2"}, {"nft", "nftables"}} {
		if _, err := exec.LookPath(tool.bin); err != nil {
			missing = append(missing, fmt.Sprintf("the %s command (apt-get install %s)", tool.bin, tool.pkg))
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		missing = append(missing, "/dev/net/tun (a kernel with CONFIG_TUN)")
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		missing = append(missing, "network namespaces (a kernel with CONFIG_NET_NS)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrUnavailable, strings.Join(missing, "; "))
	}
	return nil
}

// hasCaps reports whether the process holds CAP_NET_ADMIN and
// CAP_SYS_ADMIN in its effective set.
func hasCaps() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.Geteuid() == 0
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	return has(unix.CAP_NET_ADMIN) && has(unix.CAP_SYS_ADMIN)
}
