using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelForge.Core.Diagnostics;
using ModelForge.Package.Processing;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Triton;
using ModelForge.Package.Tuning;

namespace ModelForge.Package.Tests;

/// <summary>
/// Pre- and post-processing around resnet18_small (float x [batch, 3, 64, 64] → output [batch, 10]): the ensemble's
/// configs (golden, and Triton's ensemble rules on the written repository), the ONNX steps against the C# reference,
/// the fused model against the steps in sequence, the generated TorchServe handler, and the refusals (MF4070–MF4072).
/// </summary>
[Collection(ModelsCollection.Name)]
public sealed class EnsembleTests(Models models) : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("modelforge-ensemble-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    private static readonly ImagePreprocess Image = new()
    {
        Layout = ImageLayout.Hwc, ChannelOrder = ChannelOrder.Bgr, Height = 96, Width = 80,
        Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f],
    };

    private string LabelFile(int count, string name = "labels.txt")
    {
        var path = Path.Combine(_out, name);
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i => $"class_{i}"));
        return path;
    }

    private ProcessingOptions Options(ImagePreprocess? image = null, ClassifierPostprocess? classes = null) => new()
    {
        Preprocess = image ?? Image,
        Postprocess = classes ?? new ClassifierPostprocess { Softmax = true, TopK = 3, Argmax = true, LabelFile = LabelFile(10) },
        Fused = true,
    };

    private (ProcessingPlan Plan, ProcessingFiles Files) Processing(ProcessingOptions options, string folder = "processing")
    {
        var plan = ProcessingPlan.Resolve(options, models.ResNetOnnx, null);
        return (plan, ProcessingFiles.Write(plan, "resnet", Path.Combine(_out, folder)));
    }

    [Fact]
    public void Ensemble_and_step_configs_match_golden()
    {
        var (plan, files) = Processing(Options());
        var ensemble = TritonEnsembleWriter.Plan(Requests.ResNet(models), new TritonOptions(), plan, files);
        Assert.Equal(["resnet_preprocess", "resnet", "resnet_postprocess", "resnet_ensemble"], ensemble.Models.Select(m => m.ModelName));
        foreach (var model in ensemble.Models)
        {
            TextProto.Parse(model.ConfigText);
            Golden.Check(model.ConfigText, $"ensemble.{model.ModelName}.pbtxt");
        }
        var fused = TritonEnsembleWriter.PlanFused(Requests.ResNet(models), new TritonOptions(), plan, files.FusedPath!);
        TextProto.Parse(fused.ConfigText);
        Golden.Check(fused.ConfigText, "ensemble.resnet_fused.pbtxt");
    }

    [Fact]
    public void Written_repository_passes_the_ensemble_rules_and_has_every_step()
    {
        var result = Packager.Package(Requests.ResNet(models), new PackagingTargets { Triton = new TritonOptions(), Tuning = TuningLevel.Off, Processing = Options() }, _out);
        var repository = Path.Combine(_out, Packager.TritonFolder);
        var configs = Directory.GetDirectories(repository).ToDictionary(d => Path.GetFileName(d), d => File.ReadAllText(Path.Combine(d, TritonRepositoryWriter.ConfigFileName)));
        Assert.Equal(["resnet", "resnet_ensemble", "resnet_fused", "resnet_postprocess", "resnet_preprocess"], configs.Keys.Order());
        // Triton's ensemble rules on the files as the server reads them; each step's own rules ran when it was planned.
        TritonEnsembleRules.Check(configs["resnet_ensemble"], configs);
        foreach (var config in configs.Values) TritonInterface.Read(config);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(repository, "resnet_ensemble", "1")));
        foreach (var step in new[] { "resnet", "resnet_preprocess", "resnet_postprocess", "resnet_fused" })
            Assert.True(File.Exists(Path.Combine(repository, step, "1", PackageLayout.OnnxFileName)), step);
        foreach (var labelled in new[] { "resnet_postprocess", "resnet_ensemble", "resnet_fused" })
            Assert.Equal(File.ReadAllText(Path.Combine(_out, "labels.txt")), File.ReadAllText(Path.Combine(repository, labelled, "labels.txt")));
        Assert.Contains(result.Written, w => w.EndsWith("resnet_fused.onnx", StringComparison.Ordinal));
    }

    /// <summary>The libtorch backend names the model's tensors x__0 and output__0: the ensemble maps them to the processing steps' names.</summary>
    [Fact]
    public void Ensemble_around_a_libtorch_model_maps_its_indexed_tensor_names()
    {
        var (plan, files) = Processing(Options());
        var ensemble = TritonEnsembleWriter.Plan(Requests.ResNet(models), new TritonOptions { Backend = TritonBackend.LibTorch }, plan, files);
        var text = ensemble.Ensemble.ConfigText;
        Assert.Contains("input_map { key: \"x__0\" value: \"x\" }", text);
        Assert.Contains("output_map { key: \"output__0\" value: \"output\" }", text);
        TritonEnsembleRules.Check(text, ensemble.Steps.ToDictionary(s => s.Model.ModelName, s => s.Model.ConfigText));
    }

    [Theory]
    [InlineData("input_map { key: \"image\" value: \"image\" }", "", "input 'image' of model 'resnet_preprocess' is not mapped")]
    [InlineData("max_batch_size: 8", "max_batch_size: 16", "only allows maximum batch size to be 8")]
    [InlineData("output_map { key: \"scores\" value: \"scores\" }", "output_map { key: \"scores\" value: \"output\" }", "can appear in an output map only once")]
    [InlineData("input_map { key: \"output\" value: \"output\" }", "input_map { key: \"output\" value: \"x\" }", "inconsistent shape")]
    [InlineData("platform: \"ensemble\"", "platform: \"ensemble\"\nbackend: \"onnxruntime\"", "must have platform type 'ensemble' and empty backend type")]
    public void Ensemble_rules_refuse_a_broken_ensemble(string from, string to, string expected)
    {
        var (plan, files) = Processing(Options());
        var ensemble = TritonEnsembleWriter.Plan(Requests.ResNet(models), new TritonOptions(), plan, files);
        var steps = ensemble.Steps.ToDictionary(s => s.Model.ModelName, s => s.Model.ConfigText);
        Assert.Contains(from, ensemble.Ensemble.ConfigText);
        var broken = ensemble.Ensemble.ConfigText.Replace(from, to, StringComparison.Ordinal);
        var error = Assert.Throws<ModelForgeException>(() => TritonEnsembleRules.Check(broken, steps));
        Assert.Equal(DiagnosticCode.TritonEnsembleInvalid, error.Diagnostics[0].Code);
        Assert.Contains(expected, error.Diagnostics[0].Message);
    }

    /// <summary>Every layout, channel order and size change: the ONNX preprocessing in ONNX Runtime against the C# loops.</summary>
    [Theory]
    [InlineData(ImageLayout.Hwc, ChannelOrder.Rgb, null, null)]
    [InlineData(ImageLayout.Hwc, ChannelOrder.Bgr, 96L, 80L)]
    [InlineData(ImageLayout.Nchw, ChannelOrder.Rgb, 40L, 50L)]
    [InlineData(ImageLayout.Nchw, ChannelOrder.Bgr, 64L, 131L)]
    public void Preprocessing_in_onnx_runtime_matches_the_reference(ImageLayout layout, ChannelOrder order, long? height, long? width)
    {
        var (plan, files) = Processing(Options(Image with { Layout = layout, ChannelOrder = order, Height = height, Width = width }));
        const int batch = 3;
        var images = Images(plan, batch, seed: 7);
        using var session = new InferenceSession(files.PreprocessPath!);
        var actual = Run(session, Tensor(images, [batch, .. plan.RequestDims]))[0].Floats;
        var expected = ProcessingReference.Preprocess(plan, images, batch);
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(MaxAbsDiff(expected, actual) < 1e-5, $"max abs diff {MaxAbsDiff(expected, actual)}");
    }

    [Fact]
    public void Postprocessing_in_onnx_runtime_matches_the_reference()
    {
        var (plan, files) = Processing(Options());
        const int batch = 4;
        var random = new Random(3);
        var logits = Enumerable.Range(0, batch * 10).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        using var session = new InferenceSession(files.PostprocessPath!);
        var outputs = Run(session, new DenseTensor<float>(logits, [batch, 10]));
        var expected = ProcessingReference.Postprocess(plan, logits, batch);
        Assert.Equal(["scores", "topk_scores", "topk_indices", "class_index"], outputs.Select(o => o.Name));
        Assert.True(MaxAbsDiff(expected.Scores, outputs[0].Floats) < 1e-6);
        Assert.True(MaxAbsDiff(expected.TopKScores!, outputs[1].Floats) < 1e-6);
        Assert.Equal(expected.TopKIndices, outputs[2].Longs);
        Assert.Equal(expected.ClassIndex, outputs[3].Longs);
    }

    [Fact]
    public void Fused_model_matches_the_steps_run_in_sequence()
    {
        var (plan, files) = Processing(Options());
        const int batch = 2;
        var images = Tensor(Images(plan, batch, seed: 11), [batch, .. plan.RequestDims]);
        using var pre = new InferenceSession(files.PreprocessPath!);
        using var model = new InferenceSession(models.ResNetOnnx);
        using var post = new InferenceSession(files.PostprocessPath!);
        using var fused = new InferenceSession(files.FusedPath!);
        var x = Run(pre, images)[0];
        var logits = Run(model, new DenseTensor<float>(x.Floats, [batch, 3, 64, 64]))[0];
        var steps = Run(post, new DenseTensor<float>(logits.Floats, [batch, 10]));
        var together = Run(fused, images);
        Assert.Equal(steps.Select(o => o.Name), together.Select(o => o.Name));
        Assert.True(MaxAbsDiff(steps[0].Floats, together[0].Floats) < 1e-6);
        Assert.Equal(steps[2].Longs, together[2].Longs);
        Assert.Equal(steps[3].Longs, together[3].Longs);
    }

    [Fact]
    public void A_label_file_with_another_count_is_MF4071_and_nothing_is_written()
    {
        var error = Refused(Options(classes: new ClassifierPostprocess { Softmax = true, LabelFile = LabelFile(9, "nine.txt") }));
        Assert.Equal(DiagnosticCode.LabelFileMismatch, error.Code);
        Assert.Contains("has 9 labels but the model's output 'output' has 10 classes", error.Message);
    }

    [Fact]
    public void Channels_that_differ_from_the_model_are_MF4070()
    {
        var error = Refused(Options(Image with { Mean = [0.5f], Std = [0.25f] }));
        Assert.Equal(DiagnosticCode.PreprocessShapeMismatch, error.Code);
        Assert.Contains("has 1 values but the model's input 'x' [batch,3,64,64] has 3 channels", error.Message);
    }

    [Fact]
    public void A_fixed_size_that_differs_without_resizing_is_MF4070()
    {
        var error = Refused(Options(Image with { Resize = false }));
        Assert.Equal(DiagnosticCode.PreprocessShapeMismatch, error.Code);
        Assert.Contains("96x80 and resizing is off", error.Message);
        Assert.Contains("64x64", error.Hint);
    }

    [Fact]
    public void Top_k_above_the_class_count_is_MF4072()
    {
        var error = Refused(Options(classes: new ClassifierPostprocess { TopK = 11 }));
        Assert.Equal(DiagnosticCode.PostprocessInvalid, error.Code);
        Assert.Contains("topK 11 with 10 classes", error.Message);
    }

    /// <summary>Refused by the packager before anything is measured or written: the output folder keeps exactly what it had.</summary>
    private Diagnostic Refused(ProcessingOptions options)
    {
        var output = Path.Combine(_out, "bundle");
        Directory.CreateDirectory(Path.Combine(output, Packager.TritonFolder, "resnet", "1"));
        File.WriteAllText(Path.Combine(output, Packager.TritonFolder, "resnet", TritonRepositoryWriter.ConfigFileName), "previous");
        var before = Snapshot(output);
        var error = Assert.Throws<ModelForgeException>(() => Packager.Package(Requests.ResNet(models),
            new PackagingTargets { Triton = new TritonOptions(), TorchServe = new TorchServeOptions(), Tuning = TuningLevel.Off, Processing = options }, output));
        Assert.Equal(before, Snapshot(output));
        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.False(string.IsNullOrEmpty(diagnostic.Hint));
        return diagnostic;
    }

    [Fact]
    public void TorchServe_archive_carries_the_generated_handler_with_the_spec_parameters_and_the_labels()
    {
        Packager.Package(Requests.ResNet(models) with { Handler = "base_handler" },
            new PackagingTargets { TorchServe = new TorchServeOptions(), Tuning = TuningLevel.Off, Processing = Options() }, _out);
        using var mar = ZipFile.OpenRead(Path.Combine(_out, Packager.TorchServeFolder, "model-store", "resnet.mar"));
        Assert.Contains(mar.Entries, e => e.FullName == "labels.txt");
        using var manifest = new StreamReader(mar.GetEntry(TorchServeArchiver.ManifestEntry)!.Open());
        Assert.Contains("\"handler\": \"resnet_handler.py\"", manifest.ReadToEnd());
        using var handler = new StreamReader(mar.GetEntry("resnet_handler.py")!.Open());
        var source = handler.ReadToEnd();
        foreach (var line in new[]
                 {
                     "PREPROCESS = True", "LAYOUT = \"hwc\"", "CHANNEL_ORDER = \"bgr\"", "REQUEST_SIZE = (96, 80)", "MODEL_SIZE = (64, 64)",
                     "MEAN = [0.485, 0.456, 0.406]", "STD = [0.229, 0.224, 0.225]", "SOFTMAX = True", "TOP_K = 3", "ARGMAX = True", "LABEL_FILE = \"labels.txt\"",
                 })
            Assert.Contains("\n" + line + "\n", source);
    }

    /// <summary>
    /// The generated handler's own functions, run by Python's torch (Debian's python3-torch where it is installed): the
    /// preprocessing against the C# reference, the postprocessing against the ONNX postprocessing model.
    /// </summary>
    [Theory]
    [InlineData(ImageLayout.Hwc, ChannelOrder.Bgr, 96L, 80L)]
    [InlineData(ImageLayout.Nchw, ChannelOrder.Rgb, 40L, 50L)]
    public void Generated_handler_processes_like_the_reference_in_python_torch(ImageLayout layout, ChannelOrder order, long height, long width)
    {
        if (!PythonTorch.Available) return;
        var (plan, _) = Processing(Options(Image with { Layout = layout, ChannelOrder = order, Height = height, Width = width }));
        const int batch = 2;
        var images = Images(plan, batch, seed: 5);
        var logits = Enumerable.Range(0, batch * 10).Select(i => (float)Math.Sin(i * 1.7) * 3).ToArray();
        var handler = ProcessingHandler.Write(plan, "resnet", _out);
        File.WriteAllBytes(Path.Combine(_out, "images.bin"), images);
        File.WriteAllBytes(Path.Combine(_out, "logits.bin"), MemoryMarshal.AsBytes(logits.AsSpan()).ToArray());
        PythonTorch.Run(_out, $$"""
            import importlib.util, torch
            spec = importlib.util.spec_from_file_location("handler", "{{handler}}")
            handler = importlib.util.module_from_spec(spec); spec.loader.exec_module(handler)
            images = torch.frombuffer(bytearray(open("images.bin", "rb").read()), dtype=torch.uint8).reshape({{batch}}, {{string.Join(", ", plan.RequestDims)}})
            handler.preprocess_images(images).numpy().tofile("pre.bin")
            logits = torch.frombuffer(bytearray(open("logits.bin", "rb").read()), dtype=torch.float32).reshape({{batch}}, 10)
            result = handler.postprocess_scores(logits)
            result["scores"].numpy().tofile("scores.bin"); result["topk_indices"].numpy().tofile("topk.bin")
            """);
        var expected = ProcessingReference.Preprocess(plan, images, batch);
        var actual = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(_out, "pre.bin"))).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(MaxAbsDiff(expected, actual) < 1e-5, $"max abs diff {MaxAbsDiff(expected, actual)}");
        var post = ProcessingReference.Postprocess(plan, logits, batch);
        Assert.True(MaxAbsDiff(post.Scores, MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(_out, "scores.bin"))).ToArray()) < 1e-6);
        Assert.Equal(post.TopKIndices, MemoryMarshal.Cast<byte, long>(File.ReadAllBytes(Path.Combine(_out, "topk.bin"))).ToArray());
    }

    private static byte[] Images(ProcessingPlan plan, int batch, int seed)
    {
        var images = new byte[batch * plan.RequestDims.Aggregate(1L, (a, d) => a * d)];
        new Random(seed).NextBytes(images);
        return images;
    }

    private static DenseTensor<byte> Tensor(byte[] data, long[] shape) => new(data, shape.Select(d => (int)d).ToArray());

    private sealed record Output(string Name, float[] Floats, long[] Longs);

    private static List<Output> Run<T>(InferenceSession session, DenseTensor<T> input)
    {
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(session.InputNames[0], input)]);
        return results.Select(r => r.Value is DenseTensor<float> f ? new Output(r.Name, f.ToArray(), [])
            : new Output(r.Name, [], ((DenseTensor<long>)r.Value).ToArray())).ToList();
    }

    private static double MaxAbsDiff(float[] expected, float[] actual) => expected.Zip(actual).Max(p => Math.Abs((double)p.First - p.Second));

    private static List<string> Snapshot(string directory) =>
        Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(directory, p) + (File.Exists(p) ? ":" + File.ReadAllText(p) : "/")).Order().ToList();
}

/// <summary>Debian's python3 with torch (fixtures/README.md); tests that need it do nothing where it is missing.</summary>
internal static class PythonTorch
{
    private const string Python = "/usr/bin/python3";

    public static bool Available { get; } = File.Exists(Python) && Exit(Python, "-c \"import torch\"", Path.GetTempPath()).Code == 0;

    public static void Run(string directory, string script)
    {
        var path = Path.Combine(directory, "script.py");
        File.WriteAllText(path, script);
        var (code, errors) = Exit(Python, path, directory);
        Assert.True(code == 0, errors);
    }

    private static (int Code, string Errors) Exit(string file, string arguments, string directory)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { WorkingDirectory = directory, RedirectStandardError = true, RedirectStandardOutput = true })!;
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, errors.Result);
    }
}
