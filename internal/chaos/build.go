package chaos

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// natsModule is the nats-server module whose main package is built; its
// version is the one go.mod pins.
const natsModule = "github.com/nats-io/nats-server/v2"

// binaries are the programs of a run.
type binaries struct {
	NATS, Repostd, Sim, Repostctl string
	NATSVersion                   string
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go" // fails with exec's own "not found in $PATH"
}

// goCmd runs the go tool in the module root and returns its stdout.
func goCmd(root string, args ...string) (string, error) {
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// moduleRoot finds the repost module from the working directory.
func moduleRoot() (string, error) {
	gomod, err := goCmd(".", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("chaos: not inside the repost module (go env GOMOD is empty)")
	}
	return filepath.Dir(gomod), nil
}

// build compiles repostd, marketo-sim and repostctl into dir (one go build,
// so that they compile and link in parallel) and returns them with
// nats-server, built once per pinned version into the user cache.
func build(root, dir string) (binaries, error) {
	var b binaries
	v, err := goCmd(root, "list", "-m", "-f", "{{.Version}}", natsModule)
	if err != nil {
		return b, err
	}
	b.NATSVersion = v
	if b.NATS, err = natsServer(root, v); err != nil {
		return b, err
	}
	b.Repostd = filepath.Join(dir, "repostd")
	b.Sim = filepath.Join(dir, "marketo-sim")
	b.Repostctl = filepath.Join(dir, "repostctl")
	_, err = goCmd(root, "build", "-o", dir+string(filepath.Separator), "./cmd/repostd", "./cmd/marketo-sim", "./cmd/repostctl")
	return b, err
}

// natsServer returns the cached nats-server binary of version v, building
// it first when missing (`go build` of the module's main package, at the
// version go.mod pins).
func natsServer(root, v string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "repost-chaos")
	bin := filepath.Join(dir, "nats-server-"+v)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "nats-server-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if _, err := goCmd(root, "build", "-o", tmp.Name(), natsModule); err != nil {
		return "", err
	}
	// rename is atomic: concurrent runs never see half a binary
	return bin, os.Rename(tmp.Name(), bin)
}
