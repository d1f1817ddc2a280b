package main

import "os"

// The apps directories used when neither --apps nor ARCHY_APPS names one:
// the working directory's apps/ (a checkout of the catalogue), else the
// system's, which the daemon reads (packaging/archy.service), so that the
// operator's CLI and the daemon see the same apps. (The help of --apps and
// the default of the hidden --system-apps spell the second out.)
const (
	localAppsDir  = "./apps"
	systemAppsDir = "/etc/archy/apps"
)

// defaultAppsDir picks ./apps when it exists, else system when that
// exists, else ./apps (whose error then names it).
func defaultAppsDir(system string) string {
	if _, err := os.Stat(localAppsDir); err == nil || system == "" {
		return localAppsDir
	}
	if _, err := os.Stat(system); err == nil {
		return system
	}
	return localAppsDir
}
