// Command semversort prints, for each pair of lines "a b" on stdin, semver.Compare(a, b) from
// golang.org/x/mod/semver: the oracle for krakend_tasks.core.semver.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		a, b, _ := strings.Cut(in.Text(), " ")
		fmt.Fprintln(out, semver.Compare(a, b))
	}
}
