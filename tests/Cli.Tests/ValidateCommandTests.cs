using Google.Protobuf;
using Onnx;

namespace ModelForge.Cli.Tests;

/// <summary><c>modelforge validate</c>: the exit codes CI relies on, and the report files.</summary>
public sealed class ValidateCommandTests : IDisposable
{
    private readonly ResNetWorkspace _workspace = new("modelforge-validate-");
    private static readonly string ResNet = ResNetWorkspace.Model;
    private const string Input = ResNetWorkspace.Input;

    public void Dispose() => _workspace.Dispose();

    private string Converted() => _workspace.Converted();

    /// <summary>Breaks an ONNX file in place: adds <paramref name="delta"/> to the first float of an initializer.</summary>
    private static void AddToFirstElement(string onnx, string initializer, float delta)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx));
        var tensor = model.Graph.Initializer.Single(t => t.Name == initializer);
        var bytes = tensor.RawData.ToByteArray();
        BitConverter.GetBytes(BitConverter.ToSingle(bytes, 0) + delta).CopyTo(bytes, 0);
        tensor.RawData = ByteString.CopyFrom(bytes);
        File.WriteAllBytes(onnx, model.ToByteArray());
    }

    [Fact]
    public void A_faithful_conversion_passes_with_exit_0_and_writes_the_reports()
    {
        var reports = _workspace.PathOf("reports");
        var (exitCode, stdout, stderr) = CliRunner.Run("validate", ResNet, Converted(), "--input", Input, "--batch", "1,2", "--ep", "cpu", "--report", reports);

        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains("PASSED", stdout);
        foreach (var file in new[] { "report.json", "report.junit.xml", "report.html" })
            Assert.True(File.Exists(Path.Combine(reports, file)), file);
    }

    [Fact]
    public void Every_default_candidate_is_in_the_reports_as_run_or_as_skipped_with_its_reason()
    {
        var reports = _workspace.PathOf("reports");
        var (exitCode, stdout, stderr) = CliRunner.Run("validate", ResNet, Converted(), "--input", Input, "--batch", "1", "--report", reports);

        Assert.True(exitCode == 0, stdout + stderr);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(reports, "report.json")));
        var ran = json.RootElement.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("candidate").GetString()!).ToHashSet();
        var skipped = json.RootElement.GetProperty("skipped").EnumerateArray()
            .Select(s => (Name: s.GetProperty("candidate").GetString()!, Reason: s.GetProperty("reason").GetString()!)).ToList();
        // Where CUDA or TensorRT cannot run (CI, this machine) they are skipped; where they can, they ran.
        Assert.Equal(["onnxruntime-cpu", "onnxruntime-cuda", "onnxruntime-tensorrt"], ran.Concat(skipped.Select(s => s.Name)).Order(StringComparer.Ordinal));
        var junit = System.Xml.Linq.XDocument.Load(Path.Combine(reports, "report.junit.xml")).Root!;
        Assert.Equal(skipped.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)junit.Attribute("skipped"));
        var html = File.ReadAllText(Path.Combine(reports, "report.html"));
        foreach (var (name, reason) in skipped)
        {
            Assert.Contains($"{name}: skipped (", stdout);
            Assert.Contains(junit.Descendants("testcase"), c => (string?)c.Element("skipped")?.Attribute("message") is { Length: > 0 } && ((string)c.Attribute("name")!).StartsWith(name, StringComparison.Ordinal));
            Assert.Contains($"<tr class=\"skipped\"><td>{name}</td>", html);
            Assert.False(string.IsNullOrWhiteSpace(reason));
        }
    }

    [Fact]
    public void A_broken_weight_fails_the_gate_with_exit_1_naming_the_output_and_saves_the_failure()
    {
        var onnx = Converted();
        AddToFirstElement(onnx, "fc.weight", 1f);
        var saved = _workspace.PathOf("failure");

        var (exitCode, stdout, _) = CliRunner.Run("validate", ResNet, onnx, "--input", Input, "--batch", "2", "--ep", "cpu", "--save-failures", saved);

        Assert.Equal(1, exitCode);
        Assert.Contains("FAILED: onnxruntime-cpu batch 2 output \"output\"", stdout);
        Assert.True(File.Exists(Path.Combine(saved, "batch2", "inputs.npz")));
        Assert.True(File.Exists(Path.Combine(saved, "batch2", "reference.npz")));
        Assert.True(File.Exists(Path.Combine(saved, "batch2", "onnxruntime-cpu.npz")));
    }

    [Fact]
    public void A_loose_tolerance_on_the_command_line_lets_a_small_drift_pass()
    {
        var onnx = Converted();
        AddToFirstElement(onnx, "fc.bias", 0.01f);

        Assert.Equal(1, CliRunner.Run("validate", ResNet, onnx, "--input", Input, "--batch", "1", "--ep", "cpu").ExitCode);
        Assert.Equal(0, CliRunner.Run("validate", ResNet, onnx, "--input", Input, "--batch", "1", "--ep", "cpu", "--tolerance", "output:0.02:0").ExitCode);
    }

    [Theory]
    [InlineData("--batch", "0", "MF1030")]
    [InlineData("--tolerance", "output:x:1", "MF1030")]
    [InlineData("--ep", "npu", "MF1030")]
    [InlineData("--dim", "seq", "MF5005")]
    [InlineData("--dim", "seq=128", "MF5005")] // ResNet has no dim seq
    public void Invalid_options_exit_2_with_a_diagnostic(string option, string value, string code)
    {
        var (exitCode, _, stderr) = CliRunner.Run("validate", ResNet, Converted(), "--input", Input, option, value);
        Assert.Equal(2, exitCode);
        Assert.Contains($"error {code}", stderr);
    }

    [Fact]
    public void A_batch_dim_range_checks_its_min_and_opt_as_a_spec_does_and_batch_wins()
    {
        var onnx = Converted();
        var (exitCode, stdout, stderr) = CliRunner.Run("validate", ResNet, onnx, "--input", Input, "--require", "cpu", "--dim", "batch=2/3/16");
        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains("batch sizes: 2, 3;", stdout);
        Assert.Contains("batch sizes: 1;", CliRunner.Run("validate", ResNet, onnx, "--input", Input, "--require", "cpu", "--dim", "batch=2/3/16", "--batch", "1").Output);
    }

    [Theory]
    [InlineData("x:float32[batch,3,64,65]")]
    [InlineData("x:float16[batch,3,64,64]")]
    [InlineData("y:float32[batch,3,64,64]")]
    public void Inputs_that_do_not_fit_the_onnx_model_exit_2_with_MF1031(string spec)
    {
        var (exitCode, _, stderr) = CliRunner.Run("validate", ResNet, Converted(), "--input", spec, "--ep", "cpu");
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF1031", stderr);
    }

    [Fact]
    public void An_engine_folder_without_a_manifest_is_refused()
    {
        var folder = System.IO.Directory.CreateDirectory(_workspace.PathOf("engine")).FullName;
        var (exitCode, _, stderr) = CliRunner.Run("validate", ResNet, Converted(), "--input", Input, "--ep", "cpu", "--engine", folder);
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF1001", stderr);
        Assert.Contains("no manifest.json", stderr);
    }

    [Theory]
    [InlineData("built", "TensorrtExecutionProvider")]
    [InlineData("skipped", "the engine was not built: no GPU here")]
    public void An_engine_that_cannot_run_here_is_reported_unavailable_with_exit_2(string status, string reason)
    {
        if (status == "built" && ModelForge.Engine.EngineProbe.TensorRt.Available) return; // a TensorRT machine runs it for real
        var onnx = Converted();
        var folder = System.IO.Directory.CreateDirectory(_workspace.PathOf("engine")).FullName;
        File.Copy(onnx, Path.Combine(folder, "resnet_ctx.onnx"));
        File.WriteAllText(Path.Combine(folder, "manifest.json"),
            $$"""{ "schemaVersion": 1, "status": "{{status}}", "reason": {{(status == "built" ? "null" : "\"no GPU here\"")}}, "ctxModel": "resnet_ctx.onnx" }""");

        var (exitCode, stdout, stderr) = CliRunner.Run("validate", ResNet, onnx, "--input", Input, "--batch", "1", "--ep", "cpu", "--engine", folder);

        Assert.Equal(2, exitCode);
        Assert.Contains("tensorrt-engine", stdout);
        Assert.Contains("error MF3003", stderr);
        Assert.Contains(reason, stderr);
    }

    [Fact]
    public void A_missing_onnx_file_exits_2()
    {
        var (exitCode, _, stderr) = CliRunner.Run("validate", ResNet, _workspace.PathOf("missing.onnx"), "--input", Input);
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF1001", stderr);
    }

    private static readonly string[] BoxInputs = ["--input", "boxes:float32[8,4]", "--input", "scores:float32[8]"];

    /// <summary>Before, libtorch's loader ended the process here with exit 134 and no message; then MF3005 refused it.</summary>
    [Fact]
    public void A_model_calling_torchvision_nms_is_validated_in_a_real_process()
    {
        var (exitCode, stdout, stderr) = CliRunner.RunProcess(["validate", RepoPaths.Fixture("validate", "nms_traced.pt"),
            RepoPaths.Fixture("validate", "nms_traced.onnx"), .. BoxInputs]);

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("PASSED", stdout);
    }

    /// <summary>
    /// libtorch cannot compile a call of an aten op it does not have and ends the process that asked (std::terminate);
    /// the CLI has a child load the archive first, so the user gets MF3001 with libtorch's message, and exit 2.
    /// </summary>
    [Fact]
    public void An_archive_calling_an_unknown_aten_op_exits_2_with_MF3001_instead_of_aborting()
    {
        var (exitCode, _, stderr) = CliRunner.RunProcess(["validate", RepoPaths.Fixture("validate", "unknown_aten_op.pt"),
            RepoPaths.Fixture("validate", "nms_traced.onnx"), .. BoxInputs]);

        Assert.True(exitCode == 2, $"exit {exitCode}: {stderr}");
        Assert.Contains("unknown_aten_op.pt!/code/__torch__.py(9): error MF3001: libtorch cannot compile the archive's code " +
            "(torch::jit::ErrorReport): Unknown builtin op: aten::not_an_op.", stderr);
    }
}
