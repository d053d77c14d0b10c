using ModelForge.Ops.Tests.Infrastructure;

namespace ModelForge.Ops.Tests;

/// <summary>
/// The cases TorchSharp 0.107 cannot run (fixtures/saved_only: dict and nested outputs, a scripted nn.LSTM with its
/// overloaded forward) convert, carry the documented output names in flattened order, and match on ONNX Runtime the
/// outputs PyTorch 1.13 saved.
/// </summary>
public sealed class SavedOutputParityTests
{
    public static IEnumerable<object[]> Cases() =>
        FixtureCase.Names("saved_only").SelectMany(name => new[] { 13, 17, 20 }.Select(opset => new object[] { name, opset }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Converted_model_matches_the_saved_pytorch_outputs(string fixture, int opset) =>
        ParityCheck.Run(FixtureCase.Load("saved_only", fixture), opset, withLibtorch: false);
}
