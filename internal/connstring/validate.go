package connstring

// Validate reports whether uri is a connection URI that Parse accepts. Its errors are those
// of Parse: they wrap ErrInvalid and never quote the URI.
func Validate(uri string) error {
	_, err := Parse(uri)
	return err
}
