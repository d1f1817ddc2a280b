// Package memtrim lets a long-running process give back the pages of its
// own executable that it no longer runs.
//
// Kernels with large folios in the page cache (ext4 on 6.x, for one) map
// a binary's code in pieces of up to 2 MiB: touching a few bytes of a
// function keeps megabytes resident. archy converge runs a small part of a
// 50 MB binary once it has started (no CUE evaluation while the apps do
// not change), yet it would show some 34 MB resident for its code alone.
// Dropping the mappings of the read-only segments, opted out of huge
// mappings, lets them come back 4 KiB at a time, as code runs. Nothing is
// lost: those pages are clean copies of the file.
package memtrim

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Text drops the process's mappings of its executable's code and
// read-only data, and reports how many bytes of mappings it dropped. It
// never touches writable data, nor the segment the dynamic loader writes
// before making it read-only (RELRO).
func Text() (int, error) {
	// /proc/self/exe is the file this process runs, even if the path now
	// names another (the binary was replaced): its mappings are matched
	// by inode, and its own ELF headers are read.
	const exe = "/proc/self/exe"
	var self unix.Stat_t
	if err := unix.Stat(exe, &self); err != nil {
		return 0, err
	}
	dev := fmt.Sprintf("%02x:%02x", unix.Major(self.Dev), unix.Minor(self.Dev))
	relro, err := relroRange(exe)
	if err != nil {
		return 0, err
	}
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer maps.Close()
	dropped := 0
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// start-end perms offset dev inode path
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[3] != dev || f[4] != strconv.FormatUint(self.Ino, 10) || f[1][1] == 'w' {
			continue
		}
		var start, end uintptr
		if _, err := fmt.Sscanf(f[0], "%x-%x", &start, &end); err != nil {
			return dropped, err
		}
		if f[1][2] != 'x' && start < relro[1] && relro[0] < end {
			continue // code is never relocated; this may have been
		}
		for _, advice := range []int{unix.MADV_NOHUGEPAGE, unix.MADV_RANDOM, unix.MADV_DONTNEED} {
			_, _, errno := unix.Syscall(unix.SYS_MADVISE, start, end-start, uintptr(advice))
			if errno == unix.EINVAL && advice == unix.MADV_NOHUGEPAGE {
				continue // a kernel without transparent huge pages
			}
			if errno != 0 {
				return dropped, fmt.Errorf("madvise %s: %w", f[0], errno)
			}
		}
		dropped += int(end - start)
	}
	if err := sc.Err(); err != nil {
		return dropped, err
	}
	// The page cache holds the file in large folios, which a fault maps
	// whole: drop the ones no process maps now, so that they come back
	// one page at a time (MADV_RANDOM turns read-ahead off).
	f, err := os.Open(exe)
	if err != nil {
		return dropped, err
	}
	defer f.Close()
	return dropped, unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// relroRange is the address range of the executable's RELRO segment,
// widened to whole pages; for a position-independent executable, whose
// load address is not known here, every read-only non-code mapping counts
// as RELRO.
func relroRange(exe string) ([2]uintptr, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return [2]uintptr{}, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		return [2]uintptr{0, ^uintptr(0)}, nil
	}
	page := uintptr(os.Getpagesize())
	for _, p := range f.Progs {
		if p.Type == elf.PT_GNU_RELRO {
			start := uintptr(p.Vaddr) &^ (page - 1)
			end := (uintptr(p.Vaddr+p.Memsz) + page - 1) &^ (page - 1)
			return [2]uintptr{start, end}, nil
		}
	}
	return [2]uintptr{}, nil
}
