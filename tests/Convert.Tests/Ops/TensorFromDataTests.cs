using System.Runtime.InteropServices;
using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Convert.Ops;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Tests.Ops;

/// <summary>
/// <c>torch.tensor(data, dtype=…)</c> in scripted code (torchvision's batched_nms helper calls <c>torch.tensor(1)</c>;
/// fixtures/torchvision/batched_nms runs that form end to end): the constant of the data's shape and torch's dtype.
/// </summary>
public sealed class TensorFromDataTests
{
    private static object? Lower(params object?[] args)
    {
        var context = new OpContext(new Graph(), OpRegistry.DefaultOpset, "aten::tensor", "", new SourceSpan("code.py", 1, 1, 0, 1), new SourceLocation("code.py", 1, 1));
        var handler = OpRegistry.Default.Resolve("aten::tensor", OpRegistry.DefaultOpset, out _)!;
        return handler(context, new OpArgs(context, args, new Dictionary<string, object?>()));
    }

    private static ConstantData Constant(object? value) => Assert.IsType<Value>(value).Constant!;

    [Fact]
    public void An_int_is_a_0d_int64_and_a_float_list_a_float32_vector()
    {
        var one = Constant(Lower(1L));
        Assert.Equal(DataType.Int64, one.ElementType);
        Assert.Empty(one.Shape);
        Assert.Equal([1L], MemoryMarshal.Cast<byte, long>(one.Bytes.Span).ToArray());

        var mixed = Constant(Lower(new List<object?> { 1L, 2.5 }));
        Assert.Equal(DataType.Float32, mixed.ElementType);
        Assert.Equal([2L], mixed.Shape);
        Assert.Equal([1f, 2.5f], MemoryMarshal.Cast<byte, float>(mixed.Bytes.Span).ToArray());
    }

    [Fact]
    public void Nested_lists_keep_their_shape_and_a_dtype_is_obeyed()
    {
        var rows = new List<object?> { new List<object?> { 1L, 2L, 3L }, new List<object?> { 4L, 5L, 6L } };
        var matrix = Constant(Lower(rows, 7L)); // c10::ScalarType 7: float64
        Assert.Equal(DataType.Float64, matrix.ElementType);
        Assert.Equal([2L, 3L], matrix.Shape);
        Assert.Equal([1.0, 2, 3, 4, 5, 6], MemoryMarshal.Cast<byte, double>(matrix.Bytes.Span).ToArray());
        Assert.Equal(DataType.Bool, Constant(Lower(new List<object?> { true, false })).ElementType);
    }

    [Fact]
    public void Ragged_lists_are_refused()
    {
        var ragged = new List<object?> { new List<object?> { 1L, 2L }, new List<object?> { 3L } };
        var error = Assert.Throws<ModelForgeException>(() => Lower(ragged));
        Assert.Equal(DiagnosticCode.InvalidOpArguments, error.Code);
        Assert.Contains("aten::tensor of nested lists of different lengths", error.Message);
    }
}
