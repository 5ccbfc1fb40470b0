package cluster

import "hash/fnv"

// PartitionOf is the partition of a store: FNV-1a of "tenant/store",
// modulo n. Every replica computes the same, and it never changes for a
// given n: the events of one store go through one engine at a time.
func PartitionOf(tenant, store string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(tenant))
	h.Write([]byte{'/'})
	h.Write([]byte(store))
	return int(h.Sum32() % uint32(n))
}

// rank orders the partitions a replica prefers (rendezvous hashing): each
// replica prefers different ones, so that replicas starting together do
// not all race for the same, and a replica's choice is stable.
func rank(replica string, p int) uint32 {
	h := fnv.New32a()
	h.Write([]byte(replica))
	h.Write([]byte{byte(p >> 8), byte(p)})
	return h.Sum32()
}
