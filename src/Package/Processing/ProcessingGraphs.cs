using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace ModelForge.Package.Processing;

/// <summary>
/// The pre- and post-processing as small ONNX models (plain opset ops ONNX Runtime and Triton's onnxruntime backend
/// run), and the three models fused into one. Each model's values are named after its own step; fusing renames every
/// value of a processing graph but the ones it shares with the model (the model's input and output), so nothing
/// collides with the model's own names.
/// </summary>
public static class ProcessingGraphs
{
    private const string Domain = "";

    /// <summary>
    /// <c>image</c> (uint8, the request's layout) → Cast → Transpose to channels first (HWC) → Gather reversing the
    /// channels (BGR) → Resize to the model's H×W (linear, half_pixel; sizes from the batch's own N and C) → ÷255 →
    /// −mean → ÷std → the model's input name.
    /// </summary>
    public static ModelProto Preprocess(ProcessingPlan plan)
    {
        var pre = plan.Preprocess ?? throw new InvalidOperationException("no preprocessing planned");
        var input = plan.Input!;
        var graph = new Builder("preprocess");
        var x = graph.Node("Cast", [ProcessingPlan.ImageInputName], ("to", (long)DataType.Float));
        if (pre.Layout == ImageLayout.Hwc) x = graph.Node("Transpose", [x], ("perm", new long[] { 0, 3, 1, 2 }));
        if (pre.ChannelOrder == ChannelOrder.Bgr) x = graph.Node("Gather", [x, graph.Int64s("reversed_channels", [2, 1, 0])], ("axis", 1L));
        if (plan.Resizes)
        {
            var shape = graph.Node("Shape", [x]);
            var batchAndChannels = graph.Node("Slice", [shape, graph.Int64s("zero", [0]), graph.Int64s("two", [2])]);
            var sizes = graph.Node("Concat", [batchAndChannels, graph.Int64s("model_size", [input.Height, input.Width])], ("axis", 0L));
            x = graph.Node("Resize", [x, "", "", sizes], ("mode", "linear"), ("coordinate_transformation_mode", "half_pixel"));
        }
        x = graph.Node("Div", [x, graph.Floats("max_value", [255f], [])]);
        var channelShape = new long[] { 1, input.Channels, 1, 1 };
        if (pre.Mean.Count > 0) x = graph.Node("Sub", [x, graph.Floats("mean", pre.Mean, channelShape)]);
        if (pre.Std.Count > 0) x = graph.Node("Div", [x, graph.Floats("std", pre.Std, channelShape)]);
        graph.Rename(x, input.Name);
        var requestDims = new[] { Dim(input.Batch) }.Concat(plan.RequestDims.Select(Fixed)).ToArray();
        var modelDims = new[] { Dim(input.Batch), Fixed(input.Channels), Fixed(input.Height), Fixed(input.Width) };
        return graph.Model(plan.Opset, [Value(ProcessingPlan.ImageInputName, DataType.Uint8, requestDims)], [Value(input.Name, DataType.Float, modelDims)]);
    }

    /// <summary>The model's output → <c>scores</c> (Softmax over the classes, or Identity) → TopK → ArgMax (keepdims, so <c>[N, 1]</c>).</summary>
    public static ModelProto Postprocess(ProcessingPlan plan)
    {
        var post = plan.Postprocess ?? throw new InvalidOperationException("no postprocessing planned");
        var output = plan.Output!;
        var graph = new Builder("postprocess");
        if (post.Softmax) graph.NodeTo("Softmax", [output.Name], [ProcessingPlan.ScoresName], ("axis", -1L));
        else graph.NodeTo("Identity", [output.Name], [ProcessingPlan.ScoresName]);
        if (post.TopK is { } k)
            graph.NodeTo("TopK", [ProcessingPlan.ScoresName, graph.Int64s("k", [k])], [ProcessingPlan.TopKScoresName, ProcessingPlan.TopKIndicesName],
                ("axis", -1L), ("largest", 1L), ("sorted", 1L));
        if (post.Argmax) graph.NodeTo("ArgMax", [ProcessingPlan.ScoresName], [ProcessingPlan.ClassIndexName], ("axis", -1L), ("keepdims", 1L));
        var outputs = plan.PostprocessOutputs.Select(o => Value(o.Name, o.Type, [Dim(output.Batch), .. o.Dims.Select(Fixed)])).ToList();
        return graph.Model(plan.Opset, [Value(output.Name, DataType.Float, [Dim(output.Batch), Fixed(output.Classes)])], outputs);
    }

    /// <summary>
    /// One model: the preprocessing's nodes, the model's, the postprocessing's, in that order. The model's input becomes
    /// the preprocessing's output and its output the postprocessing's input; every other value and node of the
    /// processing graphs gets its step's prefix.
    /// </summary>
    public static ModelProto Fuse(ProcessingPlan plan, ModelProto model)
    {
        var fused = model.Clone();
        var graph = fused.Graph;
        if (plan.Preprocess is not null)
        {
            var pre = Prefixed(Preprocess(plan).Graph, "preprocess/", keep: [ProcessingPlan.ImageInputName, plan.Input!.Name]);
            var nodes = pre.Node.Concat(graph.Node).ToList();
            graph.Node.Clear();
            graph.Node.AddRange(nodes);
            graph.Initializer.AddRange(pre.Initializer);
            graph.Input.Clear();
            graph.Input.AddRange(pre.Input);
        }
        if (plan.Postprocess is not null)
        {
            var post = Prefixed(Postprocess(plan).Graph, "postprocess/", keep: [plan.Output!.Name, .. plan.PostprocessOutputs.Select(o => o.Name)]);
            graph.Node.AddRange(post.Node);
            graph.Initializer.AddRange(post.Initializer);
            graph.Output.Clear();
            graph.Output.AddRange(post.Output);
        }
        var opset = fused.OpsetImport.FirstOrDefault(o => o.Domain == Domain);
        if (opset is null) fused.OpsetImport.Add(new OperatorSetIdProto { Domain = Domain, Version = plan.Opset });
        else opset.Version = Math.Max(opset.Version, plan.Opset);
        return fused;
    }

    /// <summary>A copy of <paramref name="graph"/> with every value name outside <paramref name="keep"/>, and every node name, prefixed.</summary>
    private static GraphProto Prefixed(GraphProto graph, string prefix, IReadOnlyCollection<string> keep)
    {
        var copy = graph.Clone();
        string Rename(string name) => name.Length == 0 || keep.Contains(name) ? name : prefix + name;
        foreach (var node in copy.Node)
        {
            node.Name = prefix + node.Name;
            for (var i = 0; i < node.Input.Count; i++) node.Input[i] = Rename(node.Input[i]);
            for (var i = 0; i < node.Output.Count; i++) node.Output[i] = Rename(node.Output[i]);
        }
        foreach (var initializer in copy.Initializer) initializer.Name = Rename(initializer.Name);
        return copy;
    }

    private static TensorShapeProto.Types.Dimension Dim(OnnxDim dim) =>
        dim.Value is { } value ? Fixed(value) : new TensorShapeProto.Types.Dimension { DimParam = dim.Param ?? "batch" };

    private static TensorShapeProto.Types.Dimension Fixed(long value) => new() { DimValue = value };

    private static ValueInfoProto Value(string name, DataType type, IEnumerable<TensorShapeProto.Types.Dimension> dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims);
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>A graph under construction: nodes in order, each output named after the step and the node's position.</summary>
    private sealed class Builder(string step)
    {
        private readonly List<NodeProto> _nodes = [];
        private readonly List<TensorProto> _initializers = [];

        /// <summary>A node with one output, named after the step and the node's position; returns that name.</summary>
        public string Node(string op, IReadOnlyList<string> inputs, params (string Name, object Value)[] attributes)
        {
            var output = $"{step}_{_nodes.Count}_{op.ToLowerInvariant()}";
            NodeTo(op, inputs, [output], attributes);
            return output;
        }

        /// <summary>A node whose outputs are the graph's named outputs.</summary>
        public void NodeTo(string op, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params (string Name, object Value)[] attributes)
        {
            var node = new NodeProto { OpType = op, Name = $"{step}_{_nodes.Count}_{op}" };
            node.Input.AddRange(inputs);
            node.Output.AddRange(outputs);
            node.Attribute.AddRange(attributes.Select(a => Attribute(a.Name, a.Value)));
            _nodes.Add(node);
        }

        /// <summary>Renames the last node's output (the graph's result) to the name the graph must give.</summary>
        public void Rename(string from, string to)
        {
            var node = _nodes.Last();
            node.Output[node.Output.IndexOf(from)] = to;
        }

        public string Int64s(string name, long[] values)
        {
            var tensor = new TensorProto { Name = $"{step}_{name}", DataType = (int)DataType.Int64 };
            tensor.Dims.Add(values.Length);
            tensor.Int64Data.AddRange(values);
            _initializers.Add(tensor);
            return tensor.Name;
        }

        public string Floats(string name, IEnumerable<float> values, long[] dims)
        {
            var tensor = new TensorProto { Name = $"{step}_{name}", DataType = (int)DataType.Float };
            tensor.Dims.AddRange(dims);
            tensor.FloatData.AddRange(values);
            _initializers.Add(tensor);
            return tensor.Name;
        }

        public ModelProto Model(long opset, IEnumerable<ValueInfoProto> inputs, IEnumerable<ValueInfoProto> outputs)
        {
            var graph = new GraphProto { Name = $"modelforge_{step}" };
            graph.Node.AddRange(_nodes);
            graph.Initializer.AddRange(_initializers);
            graph.Input.AddRange(inputs);
            graph.Output.AddRange(outputs);
            return new ModelProto
            {
                IrVersion = 8,
                ProducerName = "modelforge",
                OpsetImport = { new OperatorSetIdProto { Domain = Domain, Version = opset } },
                Graph = graph,
            };
        }

        private static AttributeProto Attribute(string name, object value)
        {
            var attribute = new AttributeProto { Name = name };
            switch (value)
            {
                case long l: attribute.Type = AttributeProto.Types.AttributeType.Int; attribute.I = l; break;
                case string s: attribute.Type = AttributeProto.Types.AttributeType.String; attribute.S = ByteString.CopyFromUtf8(s); break;
                case long[] ls: attribute.Type = AttributeProto.Types.AttributeType.Ints; attribute.Ints.AddRange(ls); break;
                default: throw new ArgumentException($"attribute {name}: unsupported value {value.GetType().Name}");
            }
            return attribute;
        }
    }
}
