// Command fake-krakend stands in for a KrakenD binary in tests: it links lura's core package
// (whose GoVersion/GlibcVersion variables KrakenD's check reads) and a few of KrakenD's modules,
// and prints `krakend version` in KrakenD's format.
package main

import (
	"fmt"
	"os"

	"github.com/google/uuid"
	"github.com/luraproject/lura/v2/core"
	"golang.org/x/mod/semver"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Printf("KrakenD Version: %s\nGo Version: %s\nGlibc Version: %s\n", core.KrakendVersion, core.GoVersion, core.GlibcVersion)
		return
	}
	fmt.Println(uuid.NewString(), semver.Canonical("v1"))
}
