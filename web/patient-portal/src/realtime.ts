import { createRealtimeForAuth } from '@qivr/shared';
import { auth } from './session';

/** The app's one WebSocket to `/ws`: connected while someone is signed in. */
export const realtime = createRealtimeForAuth(auth);
