package plot

import (
	"github.com/janpfeifer/gonb/gonbui"
)

// Live is an output block of a GoNB cell whose charts are redrawn in place, e.g. a loss curve
// that grows while a model trains. The ECharts library is sent once, with the first Update;
// each Update then replaces the block's charts. Outside a notebook Update does nothing.
type Live struct {
	id      string
	libSent bool
}

// NewLive returns a Live block; nothing is shown until the first Update.
func NewLive() *Live { return &Live{} }

// Update draws the charts in the block, replacing what it showed before.
func (l *Live) Update(charts ...Chart) error {
	if !gonbui.IsNotebook {
		return nil
	}
	if !l.libSent {
		lib, err := HTML() // the library alone
		if err != nil {
			return err
		}
		gonbui.DisplayHTML(lib)
		l.libSent = true
		l.id = "loralab_live_" + gonbui.UniqueId()
	}
	gonbui.UpdateHTML(l.id, chartsHTML(charts))
	return nil
}
