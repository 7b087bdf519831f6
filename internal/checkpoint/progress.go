package checkpoint

import "github.com/talonsync/talonsync/internal/readers"

// Progress is what a checkpoint knows about the rows: where to start
// reading again and which rows after that point are already done.
type Progress struct {
	// Resume is the position of the first row that is not done (or of the
	// last row read, when every row read is done).
	Resume readers.Position `json:"resume"`
	// Done marks the rows at or after Resume that are done (delivered,
	// unchanged, or rejected and written to the rejects file): bit k, least
	// significant first, is the k-th row a reader started at Resume yields.
	// A bitmap stays small however the lanes interleave: the window between
	// the resume point and the read head is a few thousand rows. In JSON it
	// is base64.
	Done []byte `json:"done,omitempty"`
	// RejectsSize is the length of the rejects file that holds every row
	// rejected so far and no other.
	RejectsSize int64 `json:"rejects_size"`
}

// Skipper returns a function that reports whether the next row is done. It
// must be called once for every row a reader started at Resume yields, in
// order.
func (p Progress) Skipper() func(line int64) bool {
	done, k := p.Done, 0
	return func(int64) bool {
		i := k
		k++
		return i/8 < len(done) && done[i/8]&(1<<(i%8)) != 0
	}
}

// Counts are the row and request counts of a run, or of several runs added
// up. Read = Delivered + Rejected + Unchanged + the rows not done.
type Counts struct {
	Read      int64 `json:"read"`
	Delivered int64 `json:"delivered"`
	Rejected  int64 `json:"rejected"`
	Unchanged int64 `json:"unchanged,omitempty"`
	Batches   int64 `json:"batches"`
	Requests  int64 `json:"requests"`
	Retries   int64 `json:"retries"`
	// Answers counts Requests by their answer.
	Answers Answers `json:"answers,omitzero"`
}

// Answers counts requests by their answer; the fields add up to the
// requests sent, retries included.
type Answers struct {
	OK          int64 `json:"2xx"`
	ClientError int64 `json:"4xx"` // 4xx other than 429, and the 1xx and 3xx the API does not send
	RateLimited int64 `json:"429"`
	ServerError int64 `json:"5xx"`
	Transport   int64 `json:"transport"` // no answer: a refused or cut connection, a timeout, a cancelled request
}

// Add returns the sum of two counts.
func (a Answers) Add(o Answers) Answers {
	return Answers{
		OK:          a.OK + o.OK,
		ClientError: a.ClientError + o.ClientError,
		RateLimited: a.RateLimited + o.RateLimited,
		ServerError: a.ServerError + o.ServerError,
		Transport:   a.Transport + o.Transport,
	}
}

// Add returns the sum of two counts.
func (c Counts) Add(o Counts) Counts {
	return Counts{
		Read:      c.Read + o.Read,
		Delivered: c.Delivered + o.Delivered,
		Rejected:  c.Rejected + o.Rejected,
		Unchanged: c.Unchanged + o.Unchanged,
		Batches:   c.Batches + o.Batches,
		Requests:  c.Requests + o.Requests,
		Retries:   c.Retries + o.Retries,
		Answers:   c.Answers.Add(o.Answers),
	}
}
