// Command gendata regenerates LoRA Lab's bilingual chat datasets (pretrain, sft_recall,
// sft_identity): Parquet train/validation splits and a dataset card per dataset.
//
//	go run ./datasets/cmd/gendata -out datasets
//
// The output is byte-identical for the same -seed.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/loralab/loralab/datasets/gen"
)

func main() {
	out := flag.String("out", "datasets", "folder that receives <dataset>/{train,validation}.parquet and README.md")
	seed := flag.Uint64("seed", gen.DefaultSeed, "random seed")
	only := flag.String("only", "", "comma-separated dataset names to generate (default: all)")
	show := flag.Int("show", 0, "print the first n validation dialogues of each dataset")
	flag.Parse()
	var names []string
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	results, err := gen.Generate(*out, *seed, names...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(1)
	}
	for _, r := range results {
		for _, split := range gen.Splits {
			s := r.Stats[split]
			fmt.Printf("%-13s %-10s %6d dialogues %7d messages %9d chars %9d bytes\n", r.Spec.Name, split, s.Rows, s.Messages, s.UserChars+s.AssistantChars+s.SystemChars, s.Bytes)
		}
		if *show > 0 {
			rows, err := gen.ReadParquet(filepath.Join(*out, r.Spec.Name, gen.Validation+".parquet"))
			if err != nil {
				fmt.Fprintln(os.Stderr, "gendata:", err)
				os.Exit(1)
			}
			for _, row := range rows[:min(*show, len(rows))] {
				fmt.Printf("--- %s %v\n", row.ID, row.Kinds)
				if row.System != "" {
					fmt.Printf("  system: %s\n", row.System)
				}
				for _, m := range row.Messages {
					fmt.Printf("  %s: %s\n", m.Role, m.Content)
				}
			}
		}
	}
}
