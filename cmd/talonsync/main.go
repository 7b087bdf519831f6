// Command talonsync loads product catalogs, customer profiles and audience
// memberships from CSV or JSONL files into Talon.One through its Integration API.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], SystemIO(), os.Getenv))
}
