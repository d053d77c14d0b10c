using ModelForge.Convert.IR;
using ModelForge.TorchScript.Pickle;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Interpret;

// Interpreter values. Python scalars are boxed long/double/bool/string, None is null, lists are
// List<object?>, tensors are IR Values. The types below cover the rest.

/// <summary>A Python tuple.</summary>
public sealed record TupleValue(IReadOnlyList<object?> Items);

/// <summary>
/// A Python int known only at run time (a size of a symbolic dim, say): a 0-d int64 value in the graph.
/// Static ints stay plain longs, so shape arithmetic on static dims never reaches the graph.
/// </summary>
public sealed record DynamicInt(Value Scalar);

/// <summary>A module instance from data.pkl together with its class and its path in the module tree.</summary>
public sealed record ModuleValue(PickleObject Object, ClassDef Class, string QualifiedClassName, string Path);

/// <summary>
/// The result of an op that could not be converted. Everything computed from it is poison too, so the
/// interpreter can run to the end and report every unsupported op at once.
/// </summary>
public sealed record PoisonValue(string Op);

/// <summary>A type expression evaluated as a value (the first argument of <c>annotate</c>, <c>uninitialized</c>).</summary>
public sealed record TypeValue(string Text);

/// <summary>
/// A prepacked quantized layer (<c>quantized::conv2d_prepack</c>, <c>quantized::linear_prepack</c>, or a
/// <c>Conv2dPackedParamsBase</c>/<c>LinearPackedParamsBase</c> object of the archive): its weight as dequantized float values
/// (<see cref="Value.Quantized"/> set), its float bias, and for convolutions the geometry (empty for Linear).
/// </summary>
public sealed record PackedParams(Value Weight, Value? Bias, long[] Stride, long[] Padding, long[] Dilation, long Groups);
