package servers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ToolsDirEnv overrides where the server binaries are looked up (default: bin/tools in the repository).
const ToolsDirEnv = "BINDERY_TOOLS_DIR"

// ErrToolMissing is returned when a server binary has not been built yet.
var ErrToolMissing = errors.New("run `make tools` to build it")

// ToolsDir returns the folder holding kcp, kube-apiserver, etcd, kubectl and helm.
func ToolsDir() (string, error) {
	if dir := os.Getenv(ToolsDirEnv); dir != "" {
		return dir, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin", "tools"), nil
}

// ToolPath returns the path of an executable server binary, or an error wrapping ErrToolMissing
// that says which binary is missing and how to build it.
func ToolPath(name string) (string, error) {
	dir, err := ToolsDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	info, err := os.Stat(path)
	if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s not found at %s: %w", name, path, ErrToolMissing)
	}
	return path, nil
}

// RepoRoot walks up from the working directory to the folder holding bindery's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && isBinderyModule(data) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the bindery repository (no go.mod of module %s above the working directory); set %s", modulePath, ToolsDirEnv)
		}
		dir = parent
	}
}

const modulePath = "github.com/bindery-dev/bindery"

func isBinderyModule(goMod []byte) bool {
	for line := range strings.Lines(string(goMod)) {
		if strings.TrimSpace(line) == "module "+modulePath {
			return true
		}
	}
	return false
}
