package train

// RandomBatches is randomBatches for the external benchmarks (package train_test, which pkg/bench
// may import without a cycle).
var RandomBatches = randomBatches
