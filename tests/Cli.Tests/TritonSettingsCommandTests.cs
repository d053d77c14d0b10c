using System.Globalization;
using System.Text.RegularExpressions;
using ModelForge.Model.Tensors;

namespace ModelForge.Cli.Tests;

/// <summary>
/// <c>modelforge package --warmup-sample FILE.npz --response-cache</c>: the Triton settings that have flags, written
/// into the repository when they fit the model, refused with exit 2 and no output when they do not.
/// </summary>
public sealed class TritonSettingsCommandTests : IDisposable
{
    private readonly ResNetWorkspace _workspace = new("modelforge-triton-settings-");

    public void Dispose() => _workspace.Dispose();

    private (int ExitCode, string Output, string Error) Package(string onnx, params string[] extra) =>
        CliRunner.Run(["package", onnx, "--input", ResNetWorkspace.Input, "--name", "resnet", "--tune", "off", "-o", _workspace.PathOf("bundles"), .. extra]);

    private string Sample(params long[] shape)
    {
        var path = _workspace.PathOf("sample.npz");
        var values = Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(i => i / 1000f).ToArray();
        Npz.Write(path, new Dictionary<string, HostTensor> { ["x"] = HostTensor.FromFloats(values, shape) });
        return path;
    }

    [Fact]
    public void A_fitting_sample_becomes_the_warmup_data_and_the_config_gets_the_cache_and_the_thread_split()
    {
        var result = Package(_workspace.Converted(), "--triton", "--warmup-sample", Sample(2, 3, 64, 64), "--response-cache");
        Assert.True(result.ExitCode == 0, result.Output + result.Error);

        var model = _workspace.PathOf(Path.Combine("bundles", "triton", "resnet"));
        var raw = File.ReadAllBytes(Path.Combine(model, "warmup", "v1", "0_x.raw"));
        Assert.Equal(3 * 64 * 64 * sizeof(float), raw.Length);
        Assert.Equal(1 / 1000f, BitConverter.ToSingle(raw, sizeof(float)));
        var config = File.ReadAllText(Path.Combine(model, "config.pbtxt"));
        Assert.Contains("input_data_file: \"v1/0_x.raw\"", config, StringComparison.Ordinal);
        Assert.Contains("response_cache {\n  enable: true\n}", config, StringComparison.Ordinal);
        // Tuning off: the packaging machine's cores split over the instances written.
        var instances = int.Parse(Regex.Match(config, @"count: (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Contains($"parameters {{ key: \"intra_op_thread_count\" value: {{ string_value: \"{Math.Max(1, Environment.ProcessorCount / instances)}\" }} }}",
            config, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sample_that_does_not_fit_is_refused_and_nothing_is_written()
    {
        var result = Package(_workspace.Converted(), "--triton", "--warmup-sample", Sample(1, 3, 32, 32));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error MF4083: warm-up array 'x' has shape [1,3,32,32], but input 'x' is declared [batch,3,64,64]: dim 2 must be 64", result.Error);
        Assert.False(Directory.Exists(_workspace.PathOf("bundles")));
    }

    [Fact]
    public void Triton_settings_without_a_triton_repository_are_refused()
    {
        var result = Package(_workspace.PathOf("unused.onnx"), "--torchserve", "--response-cache");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("are Triton settings, and no Triton repository is written", result.Error);
    }
}
