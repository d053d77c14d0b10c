using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Convert.Ops;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Tests.Ops;

/// <summary>
/// <c>float()</c> in scripted code (<c>aten::Float</c>): a Python float when known at conversion time, a
/// <see cref="RunTimeFloat"/> otherwise (fixtures/ops/run_time_floats runs those forms end to end against libtorch).
/// </summary>
public sealed class PythonFloatTests
{
    private readonly Graph _graph = new();

    private object? Float(object? operand)
    {
        var context = new OpContext(_graph, OpRegistry.DefaultOpset, "aten::Float", "", new SourceSpan("code.py", 1, 1, 0, 1), new SourceLocation("code.py", 1, 1));
        var handler = OpRegistry.Default.Resolve("aten::Float", OpRegistry.DefaultOpset, out _)!;
        return handler(context, new OpArgs(context, [operand], new Dictionary<string, object?>()));
    }

    [Fact]
    public void A_static_int_is_a_python_float_and_a_run_time_size_a_run_time_double()
    {
        Assert.Equal(3.0, Float(3L));
        var size = _graph.AddInput("n", TensorType.Scalar(DataType.Int64));
        var value = Assert.IsType<RunTimeFloat>(Float(new DynamicInt(size))).Scalar;
        Assert.Equal("float64[]", value.Type.ToString()); // a double, as Python's float
        Assert.Equal("Cast", value.Producer!.OpType);
    }

    [Fact]
    public void A_tensor_of_more_than_one_element_is_refused_as_torch_refuses_it()
    {
        var x = _graph.AddInput("x", TensorType.Of(DataType.Float32, 2, 3));
        var error = Assert.Throws<ModelForgeException>(() => Float(x));
        Assert.Equal(DiagnosticCode.InvalidOpArguments, error.Code);
        Assert.Contains("only a one-element tensor converts to a Python float", error.Message);
    }
}
