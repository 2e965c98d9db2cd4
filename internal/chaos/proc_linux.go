package chaos

import "syscall"

// sysProcAttr kills a child when the harness dies, so that a crashed or
// killed harness leaves no server behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
