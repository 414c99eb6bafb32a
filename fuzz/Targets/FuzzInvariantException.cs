namespace DiffTransformer.Fuzz;

/// <summary>
/// A reader broke the fuzzing invariant in a way that is not an exception of its own (too slow, too much memory, a
/// rejection that does not name the file, a result that is not valid). Thrown out of the target so that AFL++ records
/// the input as a crash.
/// </summary>
internal sealed class FuzzInvariantException(string message, Exception? inner = null) : Exception(message, inner);
