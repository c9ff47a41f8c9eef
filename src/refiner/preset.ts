// The preset a refinement runs under, chosen once: the loop builds its prompts with it and reports
// it in its 'done' event, which the editor records with the session. A file of its own so that the
// client (in the extension host, which loads no engine) can name it for a request it ends itself.
import type { DocumentKind } from '../base/generation-record';
import { presetFor } from '../models/prompts';
import type { RefineRequest } from './loop';

/** The request's kind if given, else the preset for its language and draft. */
export function requestPreset(request: Pick<RefineRequest, 'languageId' | 'draft' | 'kind'>): DocumentKind {
  return presetFor(request.languageId, request.draft ?? '', request.kind).kind;
}
