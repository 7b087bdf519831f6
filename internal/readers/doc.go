// Package readers is the first stage of a sync. It streams a CSV or JSONL
// input (a file, gzipped or not, or stdin), checks every row, and maps it
// to a Row: a talon.Item encoded once, exactly as it goes on the wire, or a
// rejection that names the line and the column at fault.
//
// Every line is accounted for: a CSV quote that never closes rejects the
// row where it opens, and the lines after it are read again as rows (see
// csvScanner). Every item conforms to the schema Talon.One's OpenAPI spec
// gives its type, checked on the raw bytes without decoding (see
// jsonl_values.go; spec_test.go holds the checks to the spec). A CSV's
// columns may be mapped by a columns.Mapping (Options.Columns).
//
//	readers ──Row──▶ chunker ──▶ workers ──▶ client
//	   ▲                                       │
//	   └── Row.Resume ◀── checkpoint ◀── confirmed rows
//
// The chunker and the workers are package batch, the client is package
// talon. A checkpoint records the Resume position of the rows the API
// confirmed; a Reader started there (Options.Start) yields the next row
// with the same line numbers as a full read.
package readers
