package talon

// The unexported names the external tests (package talon_test) use.
var IdempotencyKey = idempotencyKey

func (e *APIError) ItemIndexes() []int { return e.itemIndexes() }
