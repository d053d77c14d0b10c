using ModelForge.Convert.IR;
using ModelForge.Convert.Ops;
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
public sealed record DynamicInt(Value Scalar)
{
    /// <summary>
    /// Provably the same size at run time: the same graph value, sizes of the same symbolic input dim (dims named in
    /// --input, which stand for one size wherever they appear), or the same dim read twice from the same tensor.
    /// </summary>
    public bool IsSameSizeAs(DynamicInt other) =>
        ReferenceEquals(Scalar, other.Scalar) ||
        Scalar.SizeOf is { Symbol: { } symbol } && symbol != Shapes.UnknownSymbol && Scalar.SizeOf == other.Scalar.SizeOf ||
        DimRead(Scalar) is { } read && DimRead(other.Scalar) is { } otherRead &&
        ReferenceEquals(read.Tensor, otherRead.Tensor) && read.Axis == otherRead.Axis;

    /// <summary>The tensor and axis of a Shape → Gather(constant axis) size read, as <see cref="OpContext.DimSize"/> builds it.</summary>
    private static (Value Tensor, long Axis)? DimRead(Value size) =>
        size.Producer is { OpType: "Gather", Inputs: [{ Producer: { OpType: "Shape", Inputs: [{ } tensor], Attributes.Count: 0 } }, { Constant: { ElementCount: 1 } axis }] } &&
        axis.ElementType == DataType.Int64
            ? (tensor, BitConverter.ToInt64(axis.Bytes.Span))
            : null;
}

/// <summary>
/// A Python float known only at run time (<c>float(x.size(0))</c>, <c>n / 2</c> of a run-time int): a 0-d float64 value in
/// the graph, a double as in Python. Kept apart from 0-d tensors because the float overloads of aten ops differ from the
/// tensor ones: <c>math.floor(f)</c> (saved as <c>torch.floor</c>) gives an int, and a tensor op takes it as torch takes a
/// Python float (a float32 tensor times it stays float32).
/// </summary>
public sealed record RunTimeFloat(Value Scalar);

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

/// <summary>
/// The result of comparing lists whose items are only known at run time (<c>mask.size() != [batch, 1, n, n]</c>) when
/// the sizes neither provably agree nor provably differ. An <c>if</c> that only raises on it is taken to pass (with a
/// warning); any other use of its truth stops conversion with <see cref="Text"/> at <see cref="Span"/>.
/// </summary>
public sealed record UndecidedComparison(string Text, SourceSpan Span);

/// <summary>
/// A variable that is None after one branch of an <c>if</c> whose condition is only known at run time and a tensor
/// after the other (torchaudio's Emformer: no padding mask when the batch size is 1): whether it holds a tensor (a
/// run-time bool) and the tensor (where it is None, a placeholder without elements). <c>x is not None</c> tests
/// <see cref="Present"/>, so what uses the tensor is a run-time <c>if</c> too; TorchScript's types let code use an
/// Optional tensor only after such a test (<c>unchecked_cast(Tensor, x)</c>), so the placeholder is never computed with.
/// </summary>
public sealed record RunTimeOptional(Value Present, Value Tensor);

/// <summary>
/// A list that a loop whose trip count is only known at run time grows by one append per iteration (Mask R-CNN's
/// <c>res.append(paste_mask_in_image(...))</c>): its items stacked along a new first dim (the ONNX Loop's scan output), so
/// its length is only known at run time. <c>len()</c>, <c>torch.stack</c> and <c>torch.cat</c> along dim 0, indexing and
/// iteration read it.
/// </summary>
public sealed record RunTimeList(Value Stacked);
