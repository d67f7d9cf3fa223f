package gen

import "testing"

// BenchmarkBuildRecall measures generating sft_recall dialogues in memory (no Parquet).
func BenchmarkBuildRecall(b *testing.B) {
	spec, err := SpecByName("sft_recall")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(spec, Train, 1000, DefaultSeed, map[string]bool{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateAll measures regenerating every dataset with its Parquet files and cards.
func BenchmarkGenerateAll(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if _, err := Generate(dir, DefaultSeed); err != nil {
			b.Fatal(err)
		}
	}
}
