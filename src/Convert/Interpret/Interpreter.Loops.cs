using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Interpret;

// Loops whose trip count or condition is only known at run time: ONNX Loop.
public sealed partial class Interpreter
{
    // A carried tensor whose shape changes in the body gets merged dims and the body runs again; merged dims only
    // become unknown, so the second run already agrees. The third is a guard.
    private const int MaxLoopBodyRuns = 3;

    /// <summary>A variable carried through a run-time loop: its value before the loop as a graph value, and whether it is a Python int.</summary>
    private sealed record LoopState(string Name, Value Initial, bool IsInt);

    /// <summary><c>for target in range(...)</c> with a run-time bound: ONNX Loop with that trip count.</summary>
    private Flow ExecuteRunTimeFor(ForStmt loop, IReadOnlyList<object?> bounds, Frame frame)
    {
        var (start, stop, step) = bounds.Count switch
        {
            1 => (0L, bounds[0], (object?)1L),
            2 => (bounds[0], bounds[1], 1L),
            _ => (bounds[0], bounds[1], bounds[2]),
        };
        if (step is not 1L || start is not (long or DynamicInt) || stop is not (long or DynamicInt))
            throw Unsupported(loop.Iterable.Span, $"a range() with a run-time bound is lowered to ONNX Loop only with int bounds and step 1 " +
                                                  $"(got {string.Join(", ", bounds.Select(DescribeValue))})");
        if (loop.Target is not NameExpr target)
            throw Unsupported(loop.Target.Span, "a loop over a run-time range() must bind one name");
        var context = ControlFlowContext("prim::Loop", loop.Span, frame);
        var tripCount = start is 0L ? RunTimeOperand(stop)
            : context.Op("Sub", [RunTimeOperand(stop), RunTimeOperand(start)], TensorType.Scalar(DataType.Int64));
        return ExecuteRunTimeLoop(loop, loop.Body, frame, tripCount, null, (iteration, bodyFrame) =>
        {
            bodyFrame.Locals[target.Id] = start is 0L ? new DynamicInt(iteration)
                : new DynamicInt(ControlFlowContext("prim::Loop", loop.Span, bodyFrame)
                    .Op("Add", [iteration, RunTimeOperand(start)], TensorType.Scalar(DataType.Int64)));
            return null;
        });
    }

    /// <summary>A <c>while</c> whose condition is only known at run time: ONNX Loop re-evaluating the condition after each run of the body.</summary>
    private Flow ExecuteRunTimeWhile(WhileStmt loop, Value condition, Frame frame)
    {
        var initial = BoolScalar(ControlFlowContext("prim::Loop", loop.Span, frame), condition);
        return ExecuteRunTimeLoop(loop, loop.Body, frame, null, initial, (_, bodyFrame) => loop.Condition);
    }

    /// <summary>
    /// ONNX Loop: the body runs symbolically once into the Loop's body subgraph. The variables from before the loop that
    /// the body assigns are the loop-carried state (tensors; ints as int64 scalars; bools as bool scalars); any other
    /// value the body changes, a list it grows or a tensor it changes in place is an error naming the loop.
    /// </summary>
    /// <param name="bindIteration">Binds the loop's own names from the iteration number; returns the condition to evaluate after the body, if any.</param>
    private Flow ExecuteRunTimeLoop(Stmt loop, IReadOnlyList<Stmt> body, Frame frame, Value? tripCount, Value? condition,
        Func<Value, Frame, Expr?> bindIteration)
    {
        var context = ControlFlowContext("prim::Loop", loop.Span, frame);
        var states = new List<LoopState>();
        var unchanged = new List<(string Name, object? Value)>();
        foreach (var name in AssignedNames(body).Where(frame.Locals.ContainsKey))
        {
            var initial = Current(ThrowIfConflict(frame.Locals[name]));
            if (initial is Value or DynamicInt or long or bool) states.Add(new LoopState(name, RunTimeOperand(initial), initial is long or DynamicInt));
            else unchanged.Add((name, initial));
        }
        var lists = frame.Locals.Values.OfType<List<object?>>().Distinct(ReferenceEqualityComparer.Instance).Cast<List<object?>>()
            .Select(l => (List: l, l.Count)).ToList();

        var types = states.Select(s => s.Initial.Type).ToList();
        for (var run = 1; ; run++)
        {
            Value? conditionOut = null;
            var bodyRun = RunSubgraph(context.Scope + "/loop_body", frame, (graph, bodyFrame) =>
            {
                var iteration = graph.AddInput(graph.Name + "/iteration", TensorType.Scalar(DataType.Int64));
                var conditionIn = graph.AddInput(graph.Name + "/condition", TensorType.Scalar(DataType.Bool));
                for (var i = 0; i < states.Count; i++)
                {
                    var input = graph.AddInput($"{graph.Name}/{states[i].Name}", types[i]);
                    bodyFrame.Locals[states[i].Name] = states[i].IsInt ? new DynamicInt(input) : input;
                }
                var nextCondition = bindIteration(iteration, bodyFrame);
                var flow = Execute(body, bodyFrame);
                if (flow is Flow.Break or Flow.Return)
                    throw Unsupported(loop.Span, $"{FlowText(flow)} inside a loop whose trip count is only known at run time is not supported");
                conditionOut = nextCondition is null ? conditionIn
                    : Condition(nextCondition, bodyFrame) switch
                    {
                        bool holds => RunTimeOperand(holds),
                        var runTime => BoolScalar(ControlFlowContext("prim::Loop", loop.Span, bodyFrame), (Value)runTime),
                    };
                return flow;
            });

            if (lists.Any(l => l.List.Count != l.Count))
                throw Unsupported(loop.Span, "a list grows inside a loop whose trip count is only known at run time (ONNX Loop carries only tensors)");
            if (MutatedOuterValues(bodyRun, bodyRun).Any())
                throw Unsupported(loop.Span, "an in-place op inside a loop whose trip count is only known at run time changes a tensor from " +
                                             "before the loop; assign the result to a variable instead");
            foreach (var (name, before) in unchanged)
                if (!Equals(Current(bodyRun.Locals[name], bodyRun), before))
                    throw Unsupported(loop.Span, $"'{name}' ({DescribeValue(before)}) changes inside a loop whose trip count is only known at run " +
                                                 "time; only tensors, ints and bools can be carried from one iteration to the next");

            var outputs = states.Select(s => RunTimeOperand(Current(bodyRun.Locals[s.Name], bodyRun))).ToList();
            for (var i = 0; i < states.Count; i++)
                if (outputs[i].Type.ElementType != types[i].ElementType)
                    throw new ModelForgeException(DiagnosticCode.BranchTypeMismatch,
                        $"'{states[i].Name}' is {types[i].ElementType.Name()} before a loop whose trip count is only known at run time and " +
                        $"{outputs[i].Type.ElementType.Name()} after its body; ONNX Loop needs one dtype per carried value",
                        _model.Locate(loop.Span), "keep each variable's dtype the same through the loop body");
            var merged = types.Zip(outputs, (type, output) => MergeTypes(type, output.Type)).ToList();
            if (run < MaxLoopBodyRuns && !merged.Zip(types, SameShape).All(same => same))
            {
                types = merged;
                continue;
            }

            bodyRun.Graph.AddSubgraphOutput(conditionOut!, bodyRun.Graph.Name);
            foreach (var output in outputs) bodyRun.Graph.AddSubgraphOutput(output, bodyRun.Graph.Name);
            var node = _graph.AddNode("Loop", [tripCount, condition, .. states.Select(s => s.Initial)], types,
                new SortedDictionary<string, AttributeValue>(StringComparer.Ordinal) { ["body"] = bodyRun.Graph }, context.Scope, loop.Span);
            for (var i = 0; i < states.Count; i++)
                frame.Locals[states[i].Name] = states[i].IsInt ? new DynamicInt(node.Outputs[i]) : node.Outputs[i];
            return Flow.Normal;
        }
    }

    private static bool SameShape(TensorType a, TensorType b) =>
        a.Shape is null ? b.Shape is null : b.Shape is not null && a.Shape.SequenceEqual(b.Shape);

    /// <summary>The names a block of statements assigns (targets of assignments and of for loops, in nested blocks too), in order of first assignment.</summary>
    private static IEnumerable<string> AssignedNames(IReadOnlyList<Stmt> body)
    {
        static IEnumerable<string> Targets(Expr target) => target switch
        {
            NameExpr name => [name.Id],
            TupleExpr tuple => tuple.Items.SelectMany(Targets),
            ListExpr list => list.Items.SelectMany(Targets),
            _ => [],
        };
        static IEnumerable<string> Walk(IReadOnlyList<Stmt> statements) => statements.SelectMany(statement => statement switch
        {
            AssignStmt assign => assign.Targets.SelectMany(Targets),
            AnnAssignStmt ann => Targets(ann.Target),
            AugAssignStmt aug => Targets(aug.Target),
            IfStmt conditional => Walk(conditional.Then).Concat(Walk(conditional.Else)),
            ForStmt loop => Targets(loop.Target).Concat(Walk(loop.Body)),
            WhileStmt loop => Walk(loop.Body),
            _ => [],
        });
        return Walk(body).Distinct(StringComparer.Ordinal);
    }
}
