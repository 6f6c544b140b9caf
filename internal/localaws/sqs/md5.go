package sqs

import (
	"crypto/md5" // #nosec G501 -- the SQS wire protocol's checksums are MD5
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
)

// md5Hex is MD5OfMessageBody / MD5OfBody: lowercase hex of the raw UTF-8
// body. The SDK recomputes it and fails the call on a mismatch
// (aws-sdk-go-v2 service/sqs cust_checksum_validation.go).
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s)) // #nosec G401 -- SQS defines MD5OfMessageBody as MD5; the SDK verifies it
	return hex.EncodeToString(sum[:])
}

// Transport types of the documented attribute digest: String and Number
// values travel as strings, Binary as bytes.
const (
	transportString = 1
	transportBinary = 2
)

// md5OfAttributes is MD5OfMessageAttributes (and MD5OfMessageSystemAttributes)
// as the SQS developer guide defines it: for each attribute, sorted by name,
// the 4-byte big-endian length and bytes of the name, the same for the data
// type, one transport-type byte, then the length and bytes of the value; the
// digest of the whole buffer in lowercase hex. Empty for no attributes, so
// the field is omitted. The test pins it to published sample digests.
func md5OfAttributes(attrs map[string]MessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	var buf []byte
	lengthPrefixed := func(b []byte) {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b))) // #nosec G115 -- attribute parts are bounded by the 1 MiB message size
		buf = append(buf, b...)
	}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		a := attrs[name]
		lengthPrefixed([]byte(name))
		lengthPrefixed([]byte(a.DataType))
		if isBinary(a.DataType) {
			buf = append(buf, transportBinary)
			lengthPrefixed(a.BinaryValue)
		} else {
			buf = append(buf, transportString)
			lengthPrefixed([]byte(a.StringValue))
		}
	}
	sum := md5.Sum(buf) // #nosec G401 -- SQS defines its attribute checksum as MD5; it checks integrity, not secrecy
	return hex.EncodeToString(sum[:])
}

// isBinary reports whether a data type, possibly with a custom suffix
// ("Binary.gif"), carries bytes.
func isBinary(dataType string) bool {
	return dataType == "Binary" || strings.HasPrefix(dataType, "Binary.")
}
