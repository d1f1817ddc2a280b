// Package shellcomp holds what archy's shell completion needs besides the
// CLI model: the scripts that hand a command line to archy (bash, zsh and
// fish all use archy itself, through COMP_LINE, as kongplete and
// posener/complete expect) and the reading of flags from a line that is
// still being typed. It must not load apps or print anything itself.
package shellcomp
