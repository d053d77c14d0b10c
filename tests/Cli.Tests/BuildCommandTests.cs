using ModelForge.Pipeline;

namespace ModelForge.Cli.Tests;

/// <summary><c>modelforge build</c> and <c>modelforge package</c>: exit codes, diagnostics, and what an interrupted build leaves.</summary>
public sealed class BuildCommandTests : IDisposable
{
    private readonly ResNetWorkspace _workspace = new("modelforge-build-");

    public void Dispose() => _workspace.Dispose();

    private string Spec(string extra = "", string name = "resnet.modelforge.json")
    {
        var path = _workspace.PathOf(name);
        File.WriteAllText(path, $$"""
            {
              "source": {{System.Text.Json.JsonSerializer.Serialize(ResNetWorkspace.Model)}},
              "inputs": [ { "name": "x", "dtype": "float32", "shape": ["batch", 3, 64, 64] } ],
              "output": "out/resnet"{{extra}}
            }
            """);
        return path;
    }

    [Fact]
    public void A_build_exits_0_and_an_unchanged_build_says_up_to_date()
    {
        var spec = Spec();

        var first = CliRunner.Run("build", spec, "--progress", "plain");
        Assert.True(first.ExitCode == 0, first.Output + first.Error);
        Assert.Contains("[validate] passed", first.Output);

        var second = CliRunner.Run("build", spec);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("up to date", second.Output);
    }

    [Fact]
    public void Tune_off_overrides_the_specs_tuning_and_verbose_lists_the_graph_passes()
    {
        var spec = Spec(",\n  \"package\": { \"tuning\": { \"level\": \"full\" }, \"triton\": {} }");

        var smoke = CliRunner.Run("build", spec, "--tune", "off", "--progress", "plain", "-v");

        Assert.True(smoke.ExitCode == 0, smoke.Output + smoke.Error);
        Assert.Contains("[package] max batch 8", smoke.Output);
        Assert.Matches(@"pass FoldBatchNorm: changed in [0-9.]+ ms", smoke.Output);
        Assert.Contains("up to date", CliRunner.Run("build", spec, "--tune", "off").Output);
    }

    [Fact]
    public void A_failed_gate_exits_1_with_MF3004_and_a_spec_error_exits_2_with_its_line()
    {
        var strict = CliRunner.Run("build", Spec(",\n  \"validate\": { \"atol\": 0, \"rtol\": 0 }"));
        Assert.Equal(1, strict.ExitCode);
        Assert.Contains("resnet.modelforge.json: error MF3004: accuracy gate failed", strict.Error);

        var invalid = CliRunner.Run("build", Spec(",\n  \"validate\": { \"atol\": \"small\" }"));
        Assert.Equal(2, invalid.ExitCode);
        Assert.Matches(@"resnet\.modelforge\.json\(5,25\): error MF7001: \$\.validate\.atol:", invalid.Error);
    }

    [Fact]
    public void A_model_without_inputs_or_a_spec_with_inputs_is_refused_with_exit_2()
    {
        Assert.Contains("error MF1030", CliRunner.Run("build", ResNetWorkspace.Model).Error);
        var both = CliRunner.Run("build", Spec(), "--input", ResNetWorkspace.Input);
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--input is only for a .pt", both.Error);
    }

    [Fact]
    public void A_build_from_a_pt_takes_the_conversion_options_and_a_changed_one_rebuilds()
    {
        var output = _workspace.PathOf("out-pt");
        string[] build = ["build", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", output];

        var first = CliRunner.Run([.. build, "--opset", "13", "--optimize", "basic", "--external-data"]);
        Assert.True(first.ExitCode == 0, first.Output + first.Error);
        Assert.Contains("(opset 13)", first.Output);
        Assert.True(File.Exists(Path.Combine(output, "model.onnx.data")), "--external-data writes the weights beside model.onnx");

        Assert.Contains("up to date", CliRunner.Run([.. build, "--opset", "13", "--optimize", "basic", "--external-data"]).Output);
        var changed = CliRunner.Run([.. build, "--opset", "13", "--optimize", "basic"]);
        Assert.DoesNotContain("up to date", changed.Output);
        Assert.False(File.Exists(Path.Combine(output, "model.onnx.data")), "without --external-data the weights are inside model.onnx");
    }

    [Fact]
    public void The_dependency_file_lists_every_file_the_build_read_sorted_and_is_written_when_up_to_date_too()
    {
        var handler = _workspace.PathOf("handler.py");
        var requirements = _workspace.PathOf("requirements.txt");
        var labels = _workspace.PathOf("index_to_name.json");
        var vocabulary = _workspace.PathOf(Path.Combine("assets", "text", "vocab.txt"));
        var cached = _workspace.PathOf(Path.Combine("assets", "__pycache__", "handler.cpython-312.pyc"));
        foreach (var file in new[] { handler, requirements, labels, vocabulary, cached })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, Path.GetFileName(file));
        }
        var spec = Spec("""
            ,
              "package": { "tuning": { "level": "off" },
                           "torchserve": { "handler": "handler.py", "requirements": "requirements.txt", "extraFiles": ["index_to_name.json", "assets"] } }
            """);
        var dependencies = _workspace.PathOf(Path.Combine("obj", "resnet.deps"));
        string[] build = ["build", spec, "--progress", "plain", "--dependency-file", dependencies];

        var first = CliRunner.Run(build);
        Assert.True(first.ExitCode == 0, first.Output + first.Error);
        // Absolute, one per line, in ordinal order; the archive's skipped folders (__pycache__) are not inputs.
        var expected = string.Concat(new[] { spec, Path.GetFullPath(ResNetWorkspace.Model), handler, requirements, labels, vocabulary }
            .Order(StringComparer.Ordinal).Select(file => file + "\n"));
        Assert.Equal(expected, File.ReadAllText(dependencies));

        File.Delete(dependencies);
        var upToDate = CliRunner.Run(build);
        Assert.Contains("up to date", upToDate.Output);
        Assert.Equal(expected, File.ReadAllText(dependencies));
    }

    [Fact]
    public void A_build_from_a_pt_takes_dim_ranges_as_a_specs_dims_and_a_changed_range_rebuilds()
    {
        var output = _workspace.PathOf("out-dims");
        string[] build = ["build", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", output, "--tune", "off"];

        var first = CliRunner.Run([.. build, "--dim", "batch=2/3/16"]);
        Assert.True(first.ExitCode == 0, first.Output + first.Error);
        // Validation runs the batch dim at its min and opt, as it does for a spec's "dims".
        using (var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "validation", "report.json"))))
            Assert.Equal([2, 3], report.RootElement.GetProperty("batchSizes").EnumerateArray().Select(b => b.GetInt32()));
        Assert.Contains("up to date", CliRunner.Run([.. build, "--dim", "batch=2/3/16"]).Output);
        Assert.DoesNotContain("up to date", CliRunner.Run([.. build, "--dim", "batch=2/4/16"]).Output);

        var besideSpec = CliRunner.Run("build", Spec(), "--dim", "batch=1/8");
        Assert.Equal(2, besideSpec.ExitCode);
        Assert.Contains("--dim is only for a .pt; a spec gives dim ranges in its \"dims\" section", besideSpec.Error);
    }

    [Theory]
    [InlineData("--opset", "13")]
    [InlineData("--optimize", "none")]
    [InlineData("--external-data")]
    public void A_conversion_option_beside_a_spec_is_refused_with_exit_2(params string[] option)
    {
        var result = CliRunner.Run(["build", Spec(), .. option]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{option[0]} is only for a .pt; a spec sets it in its \"onnx\" section", result.Error);
    }

    [Fact]
    public void Package_writes_every_bundle_warns_about_the_handlers_size_and_refuses_kserve_without_a_storage_uri()
    {
        var onnx = _workspace.Converted();
        var output = _workspace.PathOf("bundles");

        var noUri = CliRunner.Run("package", onnx, "--input", ResNetWorkspace.Input, "--name", "resnet", "--kserve", "-o", output);
        Assert.Equal(2, noUri.ExitCode);
        Assert.Contains("error MF4009", noUri.Error);

        var (exitCode, stdout, stderr) = CliRunner.Run("package", onnx, "--source", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input,
            "--name", "resnet", "--kserve", "--storage-uri", "s3://models/resnet", "--tune", "off", "--handler", "image_classifier", "-o", output);
        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains("batching: max batch 8", stdout);
        foreach (var file in new[] { "torchserve/model-store/resnet.mar", "torchserve/config.properties", "triton/resnet/config.pbtxt",
                     "triton/resnet/1/model.onnx", "kserve/storage/torchserve/model-store/resnet.mar", "kserve/storage/torchserve/config/config.properties",
                     "kserve/storage/triton/resnet/config.pbtxt", "kserve/inferenceservice-torchserve.yaml", "kserve/inferenceservice-triton.yaml" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        // The model is 64×64 and image_classifier crops 224: a warning on stderr, and the bundles are still written.
        Assert.Contains("modelforge: warning MF4012: TorchServe's built-in handler image_classifier", stderr);
        Assert.Contains("hint: pass a handler of your own whose preprocess makes 3×64×64 images", stderr);
        Assert.DoesNotContain("MF4012", stdout);
    }

    [Fact]
    public void Package_prints_the_tuning_warnings_in_msbuild_format_and_names_the_model_in_the_plot()
    {
        var onnx = _workspace.Converted();
        var output = _workspace.PathOf("tuned");

        var (exitCode, stdout, stderr) = CliRunner.Run("package", onnx, "--input", ResNetWorkspace.Input, "--name", "resnet", "--triton",
            "--max-batch", "2", "--latency-budget-ms", "0.001", "-o", output);

        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains($"{onnx}: warning MF4051: no measured configuration meets the p99 budget of 0.001 ms", stderr);
        Assert.Contains("    hint: ", stderr);
        var plot = System.Xml.Linq.XDocument.Load(Path.Combine(output, "tuning", "tuning.svg"));
        Assert.Contains(plot.Descendants(), e => e.Name.LocalName == "text" && e.Value.StartsWith("resnet: ", StringComparison.Ordinal));
    }

    /// <summary>
    /// Kills a real <c>modelforge build</c> process at spread-out points of a rebuild, several times: the output folder
    /// must always hold a complete bundle (every artifact matching the manifest) or none; the next build repairs it.
    /// </summary>
    [Fact]
    public void A_build_killed_at_any_point_leaves_a_complete_bundle_or_none_and_the_next_build_repairs_it()
    {
        var spec = Spec();
        var output = _workspace.PathOf("out/resnet");
        Assert.Equal(0, CliRunner.Run("build", spec).ExitCode);
        // A changed seed makes every later build a real rebuild, so each kill lands somewhere inside one.
        Spec(",\n  \"validate\": { \"seed\": 7 }");

        var random = new Random(20261125);
        for (var attempt = 0; attempt < 6; attempt++)
        {
            using var process = CliRunner.Start(null, "build", spec, "--progress", "plain");
            Thread.Sleep(random.Next(200, 6000));
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit();

            if (Directory.Exists(output))
            {
                var manifest = BuildManifest.TryLoad(output);
                Assert.True(manifest is not null, $"attempt {attempt}: the output folder has no readable manifest");
                Assert.True(manifest.ArtifactsIntact(output), $"attempt {attempt}: an artifact does not match the manifest");
            }
        }

        var repaired = CliRunner.Run("build", spec);
        Assert.Equal(0, repaired.ExitCode);
        Assert.True(BuildManifest.TryLoad(output)!.ArtifactsIntact(output));
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetDirectoryName(output)!), d => Path.GetFileName(d).Contains(".staging-", StringComparison.Ordinal));
    }
}
