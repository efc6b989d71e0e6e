// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2 is golang.org/x/crypto/argon2 at v0.59.0 with two changes. The first: the
// caller owns the working memory. x/crypto allocates memory KiB (19 MiB at OWASP's parameters)
// on every call and leaves it to the garbage collector, so a busy server collects every few
// hashes and each collection marks the whole heap again (golang/go#36634 asks upstream for
// this API). Here a Memory is reused, and is not cleared in between: the first pass overwrites
// each block (processBlock, as Argon2 1.3 specifies) where upstream XORs it into memory the
// allocation zeroed, which gives the same block. Nothing else differs: the blocks' order, the
// compression functions and the assembly are upstream's. The tests compare every output with
// x/crypto's, from a Memory full of an earlier call's blocks and of random bytes.
//
// The second: a hash yields its core (runtime.Gosched) before each of its segments (8 at
// OWASP's parameters, about 2 ms apart). A server whose hashes fill every core otherwise
// leaves the goroutines readied meanwhile (a database reply the runtime's monitor polled, the
// next attempt handed a browser's lane) waiting until Go preempts the hash, every 10 ms; the
// segments' own goroutines do not let them in, since each runs next, ahead of the queue. On
// two cores that wait kept a core idle 3-4 % of the time under a stream of right sign-ins on
// PostgreSQL; see BENCHMARKS.md, "A hash that yields between its segments". IDKeyYield lets
// the caller yield otherwise: the sign-in's scheduler pauses a stranger's hash there while an
// owner's needs the core.
//
// Only Argon2id (RFC 9106) is exported; upstream's argon2i and argon2d paths stay as they are.
package argon2

import (
	"encoding/binary"
	"runtime"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// The Argon2 version implemented by this package.
const Version = 0x13

const (
	argon2d = iota
	argon2i
	argon2id
)

// Memory is the working memory of one derivation at a time; the zero value is ready to use.
// It keeps its blocks between calls. A Memory is not safe for concurrent use.
type Memory struct {
	blocks []block
}

// IDKey is x/crypto's argon2.IDKey computed in m: the same key for the same arguments.
func (m *Memory) IDKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return m.IDKeyYield(password, salt, time, memory, threads, keyLen, nil)
}

// IDKeyYield is IDKey calling yield before each segment instead of runtime.Gosched: the
// caller decides what its hash makes way for (signin.Slot.Yield pauses a stranger's hash while
// an owner's needs the core). A nil yield is runtime.Gosched.
func (m *Memory) IDKeyYield(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32, yield func()) []byte {
	if yield == nil {
		yield = runtime.Gosched
	}
	return deriveKey(m, argon2id, password, salt, nil, nil, time, memory, threads, keyLen, yield)
}

// Size is the memory m holds, in KiB (one block is 1 KiB).
func (m *Memory) Size() int {
	return cap(m.blocks)
}

// take returns n blocks of m, growing it if it holds fewer. They are not cleared: they hold
// what the last derivation left, and the first pass writes every block before any is read
// (initBlocks the first two of each lane, processBlocks the rest, without XOR in pass 0).
func (m *Memory) take(n uint32) []block {
	if uint32(cap(m.blocks)) < n {
		m.blocks = make([]block, n)
	}
	return m.blocks[:n]
}

func deriveKey(m *Memory, mode int, password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32, yield func()) []byte {
	if time < 1 {
		panic("argon2: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2: parallelism degree too low")
	}
	h0 := initHash(password, salt, secret, data, time, memory, uint32(threads), keyLen, mode)

	memory = memory / (syncPoints * uint32(threads)) * (syncPoints * uint32(threads))
	if memory < 2*syncPoints*uint32(threads) {
		memory = 2 * syncPoints * uint32(threads)
	}
	B := initBlocks(m.take(memory), &h0, memory, uint32(threads))
	processBlocks(B, time, memory, uint32(threads), mode, yield)
	return extractKey(B, memory, uint32(threads), keyLen)
}

const (
	blockLength = 128
	syncPoints  = 4
)

type block [blockLength]uint64

func initHash(password, salt, key, data []byte, time, memory, threads, keyLen uint32, mode int) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], threads)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(mode))
	b2.Write(params[:])
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(password)))
	b2.Write(tmp[:])
	b2.Write(password)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(salt)))
	b2.Write(tmp[:])
	b2.Write(salt)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(key)))
	b2.Write(tmp[:])
	b2.Write(key)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(data)))
	b2.Write(tmp[:])
	b2.Write(data)
	b2.Sum(h0[:0])
	return h0
}

func initBlocks(B []block, h0 *[blake2b.Size + 8]byte, memory, threads uint32) []block {
	var block0 [1024]byte
	for lane := uint32(0); lane < threads; lane++ {
		j := lane * (memory / threads)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 0)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+0] {
			B[j+0][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 1)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+1] {
			B[j+1][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}
	}
	return B
}

func processBlocks(B []block, time, memory, threads uint32, mode int, yield func()) {
	lanes := memory / threads
	segments := lanes / syncPoints

	processSegment := func(n, slice, lane uint32, wg *sync.WaitGroup) {
		var addresses, in, zero block
		if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
			in[0] = uint64(n)
			in[1] = uint64(lane)
			in[2] = uint64(slice)
			in[3] = uint64(memory)
			in[4] = uint64(time)
			in[5] = uint64(mode)
		}

		index := uint32(0)
		if n == 0 && slice == 0 {
			index = 2 // we have already generated the first two blocks
			if mode == argon2i || mode == argon2id {
				in[6]++
				processBlock(&addresses, &in, &zero)
				processBlock(&addresses, &addresses, &zero)
			}
		}

		offset := lane*lanes + slice*segments + index
		var random uint64
		for index < segments {
			prev := offset - 1
			if index == 0 && slice == 0 {
				prev += lanes // last block in lane
			}
			if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
				if index%blockLength == 0 {
					in[6]++
					processBlock(&addresses, &in, &zero)
					processBlock(&addresses, &addresses, &zero)
				}
				random = addresses[index%blockLength]
			} else {
				random = B[prev][0]
			}
			newOffset := indexAlpha(random, lanes, segments, threads, n, slice, lane, index)
			if n == 0 {
				// Portier's change: the first pass overwrites the block (as Argon2 1.3
				// specifies), where upstream XORs it into freshly zeroed memory.
				processBlock(&B[offset], &B[prev], &B[newOffset])
			} else {
				processBlockXOR(&B[offset], &B[prev], &B[newOffset])
			}
			index, offset = index+1, offset+1
		}
		wg.Done()
	}

	for n := uint32(0); n < time; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			yield() // Portier's change: let what is ready run first (IDKeyYield)
			var wg sync.WaitGroup
			for lane := uint32(0); lane < threads; lane++ {
				wg.Add(1)
				go processSegment(n, slice, lane, &wg)
			}
			wg.Wait()
		}
	}

}

func extractKey(B []block, memory, threads, keyLen uint32) []byte {
	lanes := memory / threads
	for lane := uint32(0); lane < threads-1; lane++ {
		for i, v := range B[(lane*lanes)+lanes-1] {
			B[memory-1][i] ^= v
		}
	}

	var block [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(block[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, block[:])
	return key
}

func indexAlpha(rand uint64, lanes, segments, threads, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % threads
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segments, ((slice+1)%syncPoints)*segments
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segments, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, lanes)
}

func phi(rand, m, s uint64, lane, lanes uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*lanes + uint32((s+m-(p+1))%uint64(lanes))
}
