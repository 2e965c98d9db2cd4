package strictjson

// maxNesting is encoding/json's limit on nested arrays and objects.
const maxNesting = 10000

// Valid reports whether data is one valid JSON value, exactly as
// json.Valid does (strings may hold invalid UTF-8; nesting deeper than
// 10,000 is refused), several times faster: it only scans, without
// encoding/json's state machine calls per byte.
func Valid(data []byte) bool {
	var buf [64]byte
	stack := buf[:0] // the open arrays and objects, innermost last
	i := SkipSpace(data, 0)
	for {
		// a value starts at i
		if i >= len(data) {
			return false
		}
		switch c := data[i]; c {
		case '{', '[':
			if len(stack) >= maxNesting {
				return false
			}
			i = SkipSpace(data, i+1)
			if i < len(data) && data[i] == closer(c) {
				i++
				break // empty: the value ends here
			}
			stack = append(stack, c)
			if c == '{' {
				if i = memberValue(data, i); i < 0 {
					return false
				}
			}
			continue // the first element's value
		case '"':
			if i = validString(data, i); i < 0 {
				return false
			}
		case 't':
			if i = literal(data, i, "true"); i < 0 {
				return false
			}
		case 'f':
			if i = literal(data, i, "false"); i < 0 {
				return false
			}
		case 'n':
			if i = literal(data, i, "null"); i < 0 {
				return false
			}
		default:
			if i = validNumber(data, i); i < 0 {
				return false
			}
		}
		// a value ended at i: close what it ends, then go on to the next
		for {
			i = SkipSpace(data, i)
			if len(stack) == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			top := stack[len(stack)-1]
			if data[i] == ',' {
				i = SkipSpace(data, i+1)
				if top == '{' {
					if i = memberValue(data, i); i < 0 {
						return false
					}
				}
				break
			}
			if data[i] != closer(top) {
				return false
			}
			stack = stack[:len(stack)-1]
			i++
		}
	}
}

func closer(open byte) byte {
	if open == '{' {
		return '}'
	}
	return ']'
}

// memberValue checks a key and its colon at i and returns where the
// member's value starts, or -1.
func memberValue(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	if i = validString(data, i); i < 0 {
		return -1
	}
	if i = SkipSpace(data, i); i >= len(data) || data[i] != ':' {
		return -1
	}
	return SkipSpace(data, i+1)
}

// validString returns the offset after the string starting at data[i] (a
// quote), or -1 when it is not a valid JSON string.
func validString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return j + 1
		case c < 0x20:
			return -1
		case c == '\\':
			j++
			if j >= len(data) {
				return -1
			}
			switch data[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(data) {
					return -1
				}
				for _, h := range data[j+1 : j+5] {
					if !isHex(h) {
						return -1
					}
				}
				j += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func literal(data []byte, i int, word string) int {
	if len(data)-i < len(word) || string(data[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

// validNumber returns the offset after the number starting at data[i], or
// -1 when none starts there.
func validNumber(data []byte, i int) int {
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return -1
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		i = digits(data, i+1)
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}
