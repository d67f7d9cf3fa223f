package progress_test

import (
	"fmt"
	"os"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/train"
	"github.com/loralab/loralab/pkg/train/progress"
	"github.com/loralab/loralab/pkg/train/trainplot"
)

// Attach the progress line (an HTML bar in a GoNB cell) and, in a notebook, the live loss chart;
// the trainer itself writes nothing. (Not run: the line shows times and throughput.)
func ExampleAttach() {
	args := train.DefaultArgs()
	args.PerDeviceTrainBatchSize, args.MaxSteps, args.LoggingSteps = 4, 20, 5
	tr, err := train.NewFromExamples(backend.MustDefault(), train.ToyLM(train.ToyLMConfig{Vocab: 16, Dim: 8, Seed: 1}),
		args, train.ToyExamples(64, 16, 1), nil, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	progress.Attach(tr, os.Stderr)
	trainplot.AttachLive(tr)
	if err := tr.Train(); err != nil {
		fmt.Println(err)
	}
}
