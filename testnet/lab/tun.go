package lab

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openTUN creates the TUN device name (IFF_TUN, no packet information:
// each read and write is one IP packet) in namespace ns and returns its
// file. The device lives as long as the file is open: closing it removes
// the device.
func openTUN(ns, name string) (*os.File, error) {
	var f *os.File
	err := inNetns(ns, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("tun %s: %w", name, err)
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("tun %s: TUNSETIFF: %w", name, err)
		}
		// Non-blocking, so that the runtime's poller serves reads and
		// Close unblocks a pending one.
		f = os.NewFile(uintptr(fd), "tun:"+name)
		return nil
	})
	return f, err
}
