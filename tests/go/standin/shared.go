// The packages this stand-in shares with KrakenD CE 2.13.8 and with the test plugins. Built as
// KrakenD's release is built (in the builder image, GOPATH=/go), its fingerprints of these
// packages equal KrakenD's, so plugin.Open here decides as KrakenD's would.
package main

import (
	_ "github.com/cespare/xxhash/v2"
	_ "github.com/google/uuid"
	_ "golang.org/x/text/cases"
	_ "golang.org/x/text/language"
)
