package quota

// LoseState forgets every limit of sub as a Redis restart without
// persistence would, keeping what this store knows of the epoch.
func (m *Memory) LoseState(sub string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.subs, sub)
}
