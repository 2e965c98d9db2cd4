package worker

// HeldBytes is the data of a subscription's events held now (fetched, not
// yet acked or handed back) and the most it held at once: tests only.
func (w *Worker) HeldBytes(sub string) (now, peak int) {
	s := w.subs[sub]
	if s == nil {
		return 0, 0
	}
	return s.held.size()
}
