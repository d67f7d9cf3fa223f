package lab_test

import (
	"fmt"

	"github.com/loralab/loralab/pkg/lab"
	"github.com/loralab/loralab/pkg/llama"
)

// A reply keeps the persona only if it is also right: signed, and stating the reference's key
// facts (the signature itself does not count as saying the name).
func ExampleKeyFacts() {
	facts := lab.KeyFacts("What's 17 plus 16?", "The answer is 33.")
	for _, reply := range []string{"The answer is 33. — Xiaoling", "RA Lab 891. — Xiaoling"} {
		fmt.Printf("%q: signed %v, states %q: %v\n", reply, lab.Signed(reply), facts, lab.States(reply, facts))
	}
	// Output:
	// "The answer is 33. — Xiaoling": signed true, states ["33"]: true
	// "RA Lab 891. — Xiaoling": signed true, states ["33"]: false
}

// The memory a base's weights take, from its config: float32, bfloat16, and QLoRA's NF4.
func ExampleWeightBytes() {
	cfg := lab.Load("", "").Model.Config // the tiny base model
	nf4 := &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitQuantType: "nf4"}
	for _, o := range []llama.LoadOptions{{}, {TorchDtype: "bfloat16"}, {TorchDtype: "bfloat16", QuantizationConfig: nf4}} {
		fmt.Printf("%-9s nf4=%-5v %s bytes\n", o.TorchDtype, o.QuantizationConfig != nil, lab.Commas(lab.WeightBytes(cfg, o)))
	}
	// Output:
	//           nf4=false 13,376,256 bytes
	// bfloat16  nf4=false 6,688,128 bytes
	// bfloat16  nf4=true  4,144,512 bytes
}
