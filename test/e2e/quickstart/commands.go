package quickstart

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// command is one shell command of the page, with the heading it appears under.
type command struct {
	section string
	text    string
}

// readCommands returns the commands of the ```sh blocks of a markdown file, one per line (a line
// ending in a backslash continues on the next). Comment and blank lines are skipped.
func readCommands(path string) ([]command, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		commands []command
		section  string
		inBlock  bool
		pending  string
	)
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case !inBlock && strings.HasPrefix(line, "#"):
			section = strings.TrimSpace(strings.TrimLeft(line, "#"))
		case !inBlock && trimmed == "```sh":
			inBlock = true
		case inBlock && trimmed == "```":
			if pending != "" {
				return nil, fmt.Errorf("%s: a command in %q ends with a continuation", path, section)
			}
			inBlock = false
		case inBlock && (trimmed == "" || strings.HasPrefix(trimmed, "#")):
		case inBlock && strings.HasSuffix(trimmed, `\`):
			pending += strings.TrimSpace(strings.TrimSuffix(trimmed, `\`)) + " "
		case inBlock:
			commands = append(commands, command{section: section, text: pending + trimmed})
			pending = ""
		}
	}
	if inBlock {
		return nil, fmt.Errorf("%s: unterminated ```sh block in %q", path, section)
	}
	return commands, scanner.Err()
}
