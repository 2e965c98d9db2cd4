// Package strictjson is all of repost's JSON machinery below encoding/json,
// in one place and standard library only:
//
//   - scanners for JSON already known to be valid (Valid, Each, Elements,
//     Parse, Unquote, Interned, StringEnd, ValueEnd, SkipSpace);
//   - strict reading that refuses repeated keys at any depth and nesting
//     past MaxDepth, naming the path of every error (Members, Decode, with
//     Plain and Trust for the fast path of a well-formed body);
//   - what the event model keeps and writes: Compact, Kind, ObjectWriter,
//     AppendString; and Peek and Unwrap for best-effort reading of bodies
//     that do not decode.
//
// The strict readers have two paths. A plain body (valid JSON, no repeated
// key, not deep) is read by byte scanners at a fraction of the token
// walker's cost; anything else goes through the walker (json.Decoder.Token),
// which decides every refusal and names it. TestFastPathsAgree and
// FuzzFastPathsAgree hold the two paths to the same answers.
package strictjson
