using ModelForge.Ops.Tests.Infrastructure;

namespace ModelForge.Ops.Tests;

/// <summary>
/// Every per-op fixture (fixtures/ops/*, one tiny traced module each) converts and matches libtorch on ONNX
/// Runtime at both of its batch sizes, at the default opset and at the ends of the supported range; below a case's
/// "min_opset" (an op ONNX gained later) conversion instead fails with the diagnostic that names the op and that opset.
/// </summary>
public sealed class OpParityTests
{
    public static IEnumerable<object[]> Cases() =>
        FixtureCase.Names("ops").SelectMany(name => new[] { 13, 17, 20 }.Select(opset => new object[] { name, opset }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Converted_op_matches_libtorch(string fixture, int opset)
    {
        var loaded = FixtureCase.Load("ops", fixture);
        if (opset < loaded.MinOpset) ParityCheck.AssertNeedsOpset(loaded, opset, loaded.MinOpset.Value);
        else ParityCheck.Run(loaded, opset);
    }
}
