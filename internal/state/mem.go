package state

import (
	"syscall"
	"unsafe"
)

// offHeapMin is the table size from which its records live outside the Go
// heap: a state of a million keys is 24 MB that the garbage collector
// would otherwise count twice (its heap goal is twice the live heap), for
// memory it never needs to scan or free before the run ends.
const offHeapMin = 1 << 20

// allocRecs returns an empty slice with room for n records and the
// function that frees it. Large tables are mapped anonymously (unix); the
// slice must not be used after free.
func allocRecs(n int) (recs []rec, free func()) {
	size := n * int(unsafe.Sizeof(rec{}))
	if size < offHeapMin {
		return make([]rec, 0, n), func() {}
	}
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]rec, 0, n), func() {}
	}
	recs = unsafe.Slice((*rec)(unsafe.Pointer(unsafe.SliceData(mem))), n)[:0]
	return recs, func() { syscall.Munmap(mem) }
}
