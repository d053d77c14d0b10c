using ModelForge.Core.Diagnostics;
using ModelForge.Engine;
using ModelForge.Model;
using ModelForge.Package.Triton;
using ModelForge.Pipeline.Spec;

namespace ModelForge.Pipeline.Tests;

public class SpecReaderTests
{
    [Fact]
    public void TheExampleSpecMapsEveryField()
    {
        var spec = SpecReader.Load(Path.Combine(RepoPaths.Root, "examples", "resnet18", "resnet18.modelforge.json"));

        Assert.Equal("resnet18", spec.Name);
        Assert.Equal(SpecWorkspace.ResNetModel, spec.SourcePath);
        Assert.Equal("x:float32[batch,3,64,64]", Assert.Single(spec.Inputs).ToString());
        Assert.Equal(["logits"], spec.OutputNames!);
        Assert.Equal(new DimRange(1, 4, 16), spec.Dims["batch"]);
        Assert.Equal(17, spec.Opset);
        Assert.Equal(EnginePrecision.Fp16, spec.TensorRt!.Precision);
        Assert.False(spec.TensorRt.Require);
        Assert.Equal(5, spec.Validation.Tolerances.TopK);
        Assert.Equal(1e-4, spec.Validation.Tolerances.For("logits", DataType.Float32).Atol);
        Assert.Equal((0.0, 1.0), (spec.Validation.Ranges["x"].Low, spec.Validation.Ranges["x"].High));
        Assert.Equal(GateMode.Error, spec.Validation.OnFailure);
        Assert.Equal(Path.Combine(RepoPaths.Root, "out", "resnet18"), spec.OutputDirectory);
    }

    [Theory]
    [InlineData("handler.py", "handler.py")]
    [InlineData("handlers/detect.py:handle", "handlers/detect.py")]
    [InlineData("handlers/detect", "handlers/detect.py")]
    public void AHandlerFileIsRelativeToTheSpecWithItsFunctionKeptAndPartOfTheInputs(string handler, string file)
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec($$"""
            "package": { "tuning": { "level": "off" }, "torchserve": { "handler": "{{handler}}" } }
            """));

        Assert.Equal(Path.Combine(workspace.Directory, handler), spec.Package!.Handler);
        Assert.Equal([Path.Combine(workspace.Directory, file)], spec.Package.ReferencedFiles);
    }

    [Fact]
    public void ABuiltInHandlerStaysANameAndIsNoInput()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "package": { "tuning": { "level": "off" }, "torchserve": { "handler": "image_classifier" } }
            """));

        Assert.Equal("image_classifier", spec.Package!.Handler);
        Assert.Empty(spec.Package.ReferencedFiles);
    }

    [Theory]
    [InlineData("\"all\"", "all")]
    [InlineData("{ \"latest\": 3 }", "latest:3")]
    [InlineData("{ \"specific\": [1, 3] }", "specific:1,3")]
    public void ATritonRepositoryIsRelativeToTheSpecWithItsVersionPolicy(string policy, string expected)
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec($$"""
            "package": { "tuning": { "level": "off" }, "triton": { "repository": "../models", "versionPolicy": {{policy}}, "newConfig": true } }
            """));

        var triton = spec.Package!.Triton!;
        Assert.Equal(Path.GetFullPath(Path.Combine(workspace.Directory, "..", "models")), triton.Repository);
        Assert.Equal(expected, triton.VersionPolicy.ToString());
        Assert.True(triton.NewConfig);
        Assert.Equal(TritonVersionPolicy.Default, workspace.Load(SpecWorkspace.ResNetSpec("""
            "package": { "triton": {} }
            """)).Package!.Triton!.VersionPolicy);
    }

    [Theory]
    [InlineData("{ \"latest\": 0 }")]
    [InlineData("{ \"specific\": [] }")]
    [InlineData("\"newest\"")]
    [InlineData("{ \"latest\": 1, \"specific\": [1] }")]
    public void AVersionPolicyOutsideTritonsThreeFormsIsRefused(string policy)
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load(SpecWorkspace.ResNetSpec($$"""
            "package": { "triton": { "versionPolicy": {{policy}} } }
            """)));
        Assert.Equal(DiagnosticCode.SpecInvalid, error.Code);
        Assert.Contains(error.Diagnostics, d => d.Message.Contains("versionPolicy", StringComparison.Ordinal));
    }

    [Fact]
    public void TheTritonServingSettingsMapToTritonSettingsWithTheWarmupSampleRelativeToTheSpecAndPartOfTheInputs()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "package": { "tuning": { "level": "off" }, "triton": {
              "responseCache": true,
              "priorityLevels": 3, "defaultPriorityLevel": 2,
              "queuePolicy": { "timeoutAction": "delay", "defaultTimeoutMicroseconds": 5000, "allowTimeoutOverride": true, "maxQueueSize": 64 },
              "priorityQueuePolicy": { "1": { "maxQueueSize": 8 } },
              "rateLimiter": { "resources": [ { "name": "cpu_slots", "count": 2 }, { "name": "memory", "count": 4, "global": true } ], "priority": 2 },
              "warmupSample": "samples/x.npz",
              "parameters": { "intra_op_thread_count": 3, "execution_mode": "1", "enable_mem_arena": false },
              "cores": 12
            } }
            """));

        var settings = spec.Package!.Triton!.Settings;
        Assert.True(settings.ResponseCache);
        Assert.Equal((3L, 2L), (settings.PriorityLevels, settings.DefaultPriorityLevel));
        Assert.Equal(new TritonQueuePolicy { TimeoutAction = TimeoutAction.Delay, DefaultTimeoutMicroseconds = 5000, AllowTimeoutOverride = true, MaxQueueSize = 64 },
            settings.QueuePolicy);
        Assert.Equal(8, Assert.Single(settings.PriorityQueuePolicies, p => p.Key == 1).Value.MaxQueueSize);
        Assert.Equal([new TritonRateLimiterResource("cpu_slots", 2), new TritonRateLimiterResource("memory", 4, Global: true)], settings.RateLimiter!.Resources);
        Assert.Equal(2, settings.RateLimiter.Priority);
        var sample = Path.Combine(workspace.Directory, "samples", "x.npz");
        Assert.Equal(sample, settings.WarmupSample);
        Assert.Contains(sample, spec.Package.ReferencedFiles);
        Assert.Equal(new Dictionary<string, string> { ["intra_op_thread_count"] = "3", ["execution_mode"] = "1", ["enable_mem_arena"] = "false" }, settings.Parameters);
        Assert.Equal(12, settings.Cores);

        var defaults = workspace.Load(SpecWorkspace.ResNetSpec("""
            "package": { "triton": {} }
            """)).Package!.Triton!.Settings;
        Assert.Equal(new TritonSettings().ResponseCache, defaults.ResponseCache);
        Assert.Null(defaults.QueuePolicy);
        Assert.Null(defaults.RateLimiter);
        Assert.Null(defaults.Cores);
        Assert.Empty(defaults.Parameters);
    }

    [Theory]
    [InlineData("\"queuePolicy\": { \"timeoutAction\": \"drop\" }", "timeoutAction")]
    [InlineData("\"queuePolicy\": { \"timeout\": 5 }", "timeout")]
    [InlineData("\"rateLimiter\": { \"resources\": [ { \"name\": \"r\" } ] }", "count")]
    [InlineData("\"priorityQueuePolicy\": { \"high\": {} }", "priorityQueuePolicy")]
    [InlineData("\"parameters\": { \"intra_op_thread_count\": [1] }", "intra_op_thread_count")]
    [InlineData("\"responseCache\": \"yes\"", "responseCache")]
    public void AServingSettingOfTheWrongFormIsRefusedAtItsPath(string setting, string path)
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load(SpecWorkspace.ResNetSpec($$"""
            "package": { "triton": { {{setting}} } }
            """)));
        Assert.Equal(DiagnosticCode.SpecInvalid, error.Code);
        Assert.Contains(error.Diagnostics, d => d.Message.Contains(path, StringComparison.Ordinal) && d.Location?.Line > 0);
    }

    [Theory]
    [InlineData("\"priorityLevels\": 3, \"defaultPriorityLevel\": 5", DiagnosticCode.TritonPriorityInvalid, "default priority level must be in range [1, 3]")]
    [InlineData("\"queuePolicy\": { \"maxQueueSize\": -1 }", DiagnosticCode.TritonQueuePolicyInvalid, "max_queue_size -1 is negative")]
    [InlineData("\"rateLimiter\": { \"resources\": [ { \"name\": \"r\", \"count\": 0 } ] }", DiagnosticCode.TritonRateLimiterInvalid, "has count 0")]
    [InlineData("\"parameters\": { \"intra_op_threads\": 4 }", DiagnosticCode.TritonBackendParameterInvalid, "unknown parameter 'intra_op_threads'")]
    [InlineData("\"parameters\": { \"gpu_mem_limit\": 1024 }", DiagnosticCode.TritonBackendParameterInvalid, "only for KIND_GPU instances")]
    public void ATritonSettingAgainstTheServersRulesFailsWhenTheSpecIsRead(string setting, DiagnosticCode code, string rule)
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load(SpecWorkspace.ResNetSpec($$"""
            "package": { "triton": { {{setting}} } }
            """)));
        Assert.Equal(code, error.Code);
        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.Contains("$.package.triton: ", diagnostic.Message, StringComparison.Ordinal);
        Assert.Contains(rule, diagnostic.Message, StringComparison.Ordinal);
        Assert.True(diagnostic.Location?.Line > 1);
        Assert.False(string.IsNullOrEmpty(diagnostic.Hint));
    }

    [Fact]
    public void GpuOnlyParametersWaitForPackagingWhenAnEngineMayMakeTheModelAGpuModel()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "tensorrt": {}, "package": { "triton": { "parameters": { "gpu_mem_limit": 1024 } } }
            """));
        Assert.Equal("1024", spec.Package!.Triton!.Settings.Parameters["gpu_mem_limit"]);
    }

    [Fact]
    public void DefaultsComeFromTheSourceNameAndTheSpecFolder()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec());

        Assert.Equal("model", spec.Name);
        Assert.Null(spec.TensorRt);
        Assert.Null(spec.Validation.Batches);
        Assert.Equal(Path.Combine(workspace.Directory, "out", "model"), spec.OutputDirectory);
    }

    [Fact]
    public void InvalidJsonIsReportedAtItsLineAndColumn()
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load("{\n  \"source\": \"a.pt\"\n  \"inputs\": []\n}"));

        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.Equal(DiagnosticCode.SpecInvalid, diagnostic.Code);
        Assert.Contains("not valid JSON", diagnostic.Message);
        Assert.Equal(3, diagnostic.Location!.Line);
    }

    [Fact]
    public void AnUnknownFieldIsNamedWithItsPathAndLine()
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load(SpecWorkspace.ResNetSpec("\"validate\": {\n  \"atoll\": 1e-3 }")));

        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.Equal(DiagnosticCode.SpecInvalid, diagnostic.Code);
        Assert.Equal("$.validate.atoll: 'atoll' is not a known field here", diagnostic.Message);
        Assert.Equal(5, diagnostic.Location!.Line);
        Assert.Equal(12, diagnostic.Location.Column);
    }

    [Fact]
    public void EveryViolationIsReportedWithItsJsonPath()
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load("""
            {
              "source": "model.pt",
              "inputs": [ { "name": "x", "dtype": "float33", "shape": ["batch", 0] } ],
              "tensorrt": { "precision": "int4", "builderLevel": 9 }
            }
            """));

        var messages = error.Diagnostics.Select(d => d.Message).ToList();
        Assert.All(error.Diagnostics, d => Assert.Equal(DiagnosticCode.SpecInvalid, d.Code));
        Assert.Contains(messages, m => m.StartsWith("$.inputs[0].dtype:", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("$.inputs[0].shape[1]:", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("$.tensorrt.precision:", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("$.tensorrt.builderLevel:", StringComparison.Ordinal));
        Assert.All(error.Diagnostics.Where(d => d.Message.StartsWith("$.inputs", StringComparison.Ordinal)), d => Assert.Equal(3, d.Location!.Line));
    }

    [Fact]
    public void AMissingRequiredFieldIsNamed()
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load("""{ "source": "model.pt" }"""));

        Assert.Contains("missing required field(s)", Assert.Single(error.Diagnostics).Message);
        Assert.Contains("inputs", error.Diagnostics[0].Message);
    }

    [Theory]
    [InlineData("\"dims\": { \"batch\": { \"min\": 8, \"max\": 4 } }", "$.dims.batch: needs min <= opt <= max")]
    [InlineData("\"dims\": { \"seq\": { \"min\": 1, \"max\": 4 } }", "$.inputs[0].shape[0]: symbolic dim 'batch' has no range in $.dims")]
    [InlineData("\"validate\": { \"ranges\": { \"y\": [0, 1] } }", "$.validate.ranges.y: there is no input named 'y'")]
    [InlineData("\"validate\": { \"ranges\": { \"x\": [1, 1] } }", "$.validate.ranges.x: needs low < high")]
    public void InconsistentSpecsAreRefusedWithTheirPath(string extra, string expected)
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load(SpecWorkspace.ResNetSpec(extra)));

        Assert.Equal(DiagnosticCode.SpecInvalid, error.Code);
        Assert.StartsWith(expected, error.Diagnostics[0].Message, StringComparison.Ordinal);
        Assert.True(error.Diagnostics[0].Location!.Line > 1);
    }

    [Fact]
    public void AMissingSourceIsReportedAtTheSourceField()
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load("""
            {
              "source": "missing.pt",
              "inputs": [ { "name": "x", "dtype": "float32", "shape": [1] } ]
            }
            """));

        Assert.Equal(DiagnosticCode.FileNotFound, error.Code);
        Assert.Equal((2, 13), (error.Diagnostics[0].Location!.Line, error.Diagnostics[0].Location!.Column));
        Assert.Contains("relative to the spec file", error.Diagnostics[0].Hint);
    }

    [Fact]
    public void AnOversizedSpecIsRefusedBeforeParsing()
    {
        using var workspace = new SpecWorkspace();
        var path = workspace.Write("{" + new string(' ', SpecReader.MaxSpecBytes) + "}");

        var error = Assert.Throws<ModelForgeException>(() => SpecReader.Load(path));

        Assert.Equal(DiagnosticCode.SpecInvalid, error.Code);
        Assert.Contains("limited to", error.Diagnostics[0].Message);
    }

    /// <summary>Regressions from the spec fuzzer (tests/Fuzz, target spec): each crashed the reader before it was fixed.</summary>
    [Theory]
    [InlineData("\"dims\": { \"batch\": { \"min\": 1.0, \"max\": 4 } }", "cannot be used")]
    [InlineData("\"dims\": { \"batch\": { \"min\": 1, \"max\": 1e30 } }", "cannot be used")]
    [InlineData("\"output\": \"out\\u0000x\"", "cannot be used")]
    [InlineData("\"validate\": { \"seed\": 1 }, \"validate\": { \"seed\": 2 }", "not valid JSON")]
    public void ValuesTheSchemaLetsThroughButDotNetCannotUseAreMF7001(string extra, string expected)
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load(SpecWorkspace.ResNetSpec(extra)));

        Assert.Equal(DiagnosticCode.SpecInvalid, error.Code);
        Assert.Contains(expected, error.Diagnostics[0].Message);
    }

    [Fact]
    public void InvalidUtf8IsMF7001()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(SpecWorkspace.ResNetSpec()).Concat(new byte[] { 0xC3, 0x28 }).ToArray();

        var error = Assert.Throws<ModelForgeException>(() => SpecReader.Parse(bytes, "fuzz.modelforge.json"));

        Assert.Contains("not valid UTF-8", error.Diagnostics[0].Message);
    }

    [Theory]
    [InlineData("", "$")]
    [InlineData("/inputs/0/dtype", "$.inputs[0].dtype")]
    [InlineData("/dims/a~1b", "$.dims.a/b")]
    public void JsonPointersAreShownAsPaths(string pointer, string expected) => Assert.Equal(expected, SpecReader.DisplayPath(pointer));
}
