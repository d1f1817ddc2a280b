package shellcomp

import (
	"fmt"
	"strings"
)

// Shells are the shells Script knows.
var Shells = []string{"bash", "zsh", "fish"}

// Script returns the completion script for shell: each asks the command
// name itself (found on PATH, as the shell finds it) for the completions
// of the line, passed in COMP_LINE and COMP_POINT.
func Script(shell, name string) (string, error) {
	var tmpl string
	switch shell {
	case "bash":
		tmpl = bashScript
	case "zsh":
		tmpl = zshScript
	case "fish":
		tmpl = fishScript
	default:
		return "", fmt.Errorf("no completion for shell %q; want one of %s", shell, strings.Join(Shells, ", "))
	}
	return strings.ReplaceAll(tmpl, "NAME", name), nil
}

// bash runs the command with COMP_LINE and COMP_POINT set itself.
const bashScript = `# bash completion for NAME (NAME completion bash): NAME completes its own
# command line. Install as /usr/share/bash-completion/completions/NAME.
complete -C NAME NAME
`

// zsh: a native function (no bashcompinit), both autoloaded from fpath as
// _NAME and sourced.
const zshScript = `#compdef NAME
# zsh completion for NAME (NAME completion zsh): NAME completes its own
# command line. Install as _NAME in a directory of $fpath, such as
# /usr/share/zsh/vendor-completions.
_NAME() {
  local line="${(j: :)words[1,CURRENT]}"
  local -a completions
  completions=(${(f)"$(COMP_LINE="$line" COMP_POINT=${#line} NAME 2>/dev/null)"})
  compadd -- "${completions[@]}"
}
if [ "$funcstack[1]" = "_NAME" ]; then
  _NAME "$@"
else
  compdef _NAME NAME
fi
`

// fish: the line up to the cursor, with the space fish leaves out when
// the current token is empty.
const fishScript = `# fish completion for NAME (NAME completion fish): NAME completes its own
# command line. Install as /usr/share/fish/vendor_completions.d/NAME.fish.
function __NAME_complete
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    set -lx COMP_POINT (string length -- $COMP_LINE)
    NAME
end
complete -c NAME -f -a "(__NAME_complete)"
`

// FlagValues returns the values given to a flag in the words of a command
// line, in order: "--name V", "--name=V", and for a short name "-s V",
// "-sV" and "-s=V".
func FlagValues(words []string, long string, short rune) []string {
	var vals []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "--":
			return vals
		case w == "--"+long || short != 0 && w == "-"+string(short):
			if i+1 < len(words) {
				vals = append(vals, words[i+1])
				i++
			}
		case strings.HasPrefix(w, "--"+long+"="):
			vals = append(vals, strings.TrimPrefix(w, "--"+long+"="))
		case short != 0 && strings.HasPrefix(w, "-"+string(short)) && !strings.HasPrefix(w, "--"):
			vals = append(vals, strings.TrimPrefix(strings.TrimPrefix(w, "-"+string(short)), "="))
		}
	}
	return vals
}
