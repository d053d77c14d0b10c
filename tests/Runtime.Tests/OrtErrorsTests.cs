using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Runtime.Tests;

/// <summary>The one translation of ONNX Runtime errors: real ORT exceptions, the stage's code and words, ORT's first line.</summary>
public sealed class OrtErrorsTests
{
    private static string TinyModel => Path.Combine(RepoPaths.Root, "tests", "Ops.Tests", "Infrastructure", "TestData", "tiny_linear.onnx");

    private static readonly OrtFailure RunFailure = new(DiagnosticCode.CandidateFailed, "the candidate failed to run the model", null, "check the inputs");

    [Fact]
    public void A_run_error_becomes_the_failures_diagnostic_with_ORTs_first_line()
    {
        using var session = OrtHost.Open(new OrtSessionRequest(TinyModel, OrtFailure.CannotLoad(DiagnosticCode.CandidateFailed, TinyModel)));
        using var wrongShape = OrtValue.CreateTensorValueFromMemory(new float[] { 1, 2, 3, 4 }, [1, 4]);
        using var runOptions = new RunOptions();

        var error = Assert.Throws<ModelForgeException>(() => OrtErrors.Guard(() => session.Run(runOptions, ["x"], [wrongShape], ["y"]), () => RunFailure));

        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.Equal(DiagnosticCode.CandidateFailed, diagnostic.Code);
        Assert.StartsWith("the candidate failed to run the model: [ErrorCode:", diagnostic.Message);
        Assert.Equal("check the inputs", diagnostic.Hint);
        var inner = Assert.IsType<OnnxRuntimeException>(error.InnerException);
        Assert.Equal(OrtErrors.FirstLine(inner.Message), diagnostic.Message["the candidate failed to run the model: ".Length..]);
        Assert.NotEqual(OrtErrorCode.Unknown, OrtErrors.CodeOf(inner));
    }

    [Fact]
    public void Guard_leaves_other_exceptions_and_results_alone()
    {
        Assert.Equal(42, OrtErrors.Guard(() => 42, () => RunFailure));
        Assert.Throws<InvalidOperationException>(() => OrtErrors.Guard(() => throw new InvalidOperationException(), () => RunFailure));
    }

    [Fact]
    public void The_failure_is_worded_only_when_there_is_an_error()
    {
        var worded = 0;
        OrtErrors.Guard(() => { }, () => { worded++; return RunFailure; });
        Assert.Equal(0, worded);
    }

    [Fact]
    public void CannotLoad_names_the_file_and_the_provider_when_given()
    {
        var failure = OrtFailure.CannotLoad(DiagnosticCode.TuningRunFailed, "/m/model.onnx", "CUDAExecutionProvider");
        var error = failure.With("[ErrorCode:Fail] boom");
        Assert.Equal("ONNX Runtime cannot load '/m/model.onnx' with CUDAExecutionProvider: [ErrorCode:Fail] boom", error.Diagnostics[0].Message);
        Assert.Equal("/m/model.onnx", error.Diagnostics[0].Location?.File);
        Assert.Equal(DiagnosticCode.TuningRunFailed, error.Code);
    }

    [Fact]
    public void FirstLine_keeps_the_first_line_trimmed()
    {
        Assert.Equal("[ErrorCode:Fail] one", OrtErrors.FirstLine("  [ErrorCode:Fail] one \n two\n"));
    }
}
