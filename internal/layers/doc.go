// Package layers holds the pipeline order of archy's packages and the
// test that keeps imports flowing one way: no package imports one of a
// later stage. It has no code of its own.
package layers
