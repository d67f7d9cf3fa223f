package plot

import (
	"github.com/janpfeifer/gonb/gonbui"
)

// Live is an output block of a GoNB cell whose content is replaced in place, e.g. a loss curve
// that grows while a model trains, or a reply that streams in. Outside a notebook its methods
// do nothing.
type Live struct {
	id string
}

// NewLive returns a Live block; nothing is shown until the first update.
func NewLive() *Live { return &Live{} }

// Update draws the charts in the block, replacing what it showed before.
func (l *Live) Update(charts ...Chart) error {
	if !gonbui.IsNotebook {
		return nil
	}
	if l.id == "" {
		// The library goes in an output of its own: the block's content is replaced each time.
		lib, err := withLibrary(SessionDir(), "")
		if err != nil {
			return err
		}
		if lib != "" {
			gonbui.DisplayHTML(lib)
			gonbui.Sync()
		}
	}
	l.HTML(chartsHTML(charts))
	return nil
}

// HTML shows h in the block, replacing what it showed before ("" empties it).
func (l *Live) HTML(h string) {
	if !gonbui.IsNotebook {
		return
	}
	if l.id == "" {
		if h == "" {
			return
		}
		l.id = "loralab_live_" + gonbui.UniqueId()
	}
	gonbui.UpdateHTML(l.id, h)
	if h == "" {
		gonbui.Sync() // the block's last state: make sure GoNB has it before the program ends
	}
}
